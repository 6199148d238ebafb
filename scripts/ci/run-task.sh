#!/usr/bin/env bash
# Runs a one-off ECS task of the deploy (role bootstrap, migration) with the image being deployed and fails
# unless every essential container exits 0. The task definition Pulumi made still names the previous image
# until `pulumi up`, so a revision of it is registered with IMAGE (and any extra container secrets) first.
#
# usage: run-task.sh <task definition arn> <label> [<ENV_NAME>=<secret valueFrom> ...]
# env:   IMAGE, CLUSTER, SUBNETS (comma-separated), SECURITY_GROUP; GITHUB_RUN_ID and RUNNER_TEMP in CI
#        (an operator's run by hand, as in the first deploy, gets a temporary directory and a manual id)
set -euo pipefail
: "${RUNNER_TEMP:=$(mktemp -d)}"
: "${GITHUB_RUN_ID:=manual-$(date +%s)}"
taskdef=$1
label=$2
shift 2
secrets=$(printf '%s\n' "$@" | jq -R 'select(length > 0) | split("=") | {name: .[0], valueFrom: (.[1:] | join("="))}' | jq -s .)
file="$RUNNER_TEMP/$label-taskdef.json"
repo="${IMAGE%:*}"
# Keep every registrable field of the current revision; drop what AWS sets on its own.
aws ecs describe-task-definition --task-definition "$taskdef" --query taskDefinition --output json |
  jq --arg image "$IMAGE" --arg repo "$repo" --argjson secrets "$secrets" '
    del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
        .registeredAt, .registeredBy, .deregisteredAt)
    | .containerDefinitions |= map(
        if (.image | startswith($repo)) then .image = $image | .secrets = ((.secrets // []) + $secrets) else . end)' \
  >"$file"
revision=$(aws ecs register-task-definition --cli-input-json "file://$file" \
  --query taskDefinition.taskDefinitionArn --output text)
run=$(aws ecs run-task --cluster "$CLUSTER" --task-definition "$revision" --launch-type FARGATE \
  --started-by "deploy-$GITHUB_RUN_ID" \
  --network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=DISABLED}" \
  --output json)
task=$(jq -r '.tasks[0].taskArn // empty' <<<"$run")
if [ -z "$task" ]; then
  echo "::error::$label task did not start: $(jq -c '.failures' <<<"$run")"
  exit 1
fi
echo "$label task $task"
# `wait tasks-stopped` gives up after 10 minutes; a long migration keeps waiting up to 60.
for _ in 1 2 3 4 5 6; do
  aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$task" && break
done
result=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$task" --output json)
echo "stopped: $(jq -r '.tasks[0].stoppedReason // "still running"' <<<"$result")"
# Only essential containers decide (a tracing sidecar may be stopped with a signal).
essentials=$(jq -r '.containerDefinitions[] | select(.essential != false) | .name' "$file")
for name in $essentials; do
  code=$(jq -r --arg n "$name" '.tasks[0].containers[] | select(.name == $n) | .exitCode // "none"' <<<"$result")
  echo "container $name exit code: $code"
  [ "$code" = 0 ] || { echo "::error::$label failed ($name exited $code)"; exit 1; }
done
