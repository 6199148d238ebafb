import { ChangeResourceRecordSetsCommand, GetChangeCommand } from '@aws-sdk/client-route-53'
import { PutParameterCommand } from '@aws-sdk/client-ssm'
import { aws, type Context } from './context.js'
import { pollUntil } from './poll.js'
import type { Site, Topology } from './topology.js'

// Contract with the service: the parameter holds `host:port` of the current writer, nothing else
// (no scheme, no credentials; those stay in Secrets Manager). The service polls it and reconnects
// its writer pool when the value changes, so no redeploy is needed.

/** Points a site's services at `endpoint` (`host:port`) by overwriting its SSM parameter. */
export async function switchWriterParameter(ctx: Context, site: Site, endpoint: string): Promise<void> {
  const { ssm } = ctx.clients.forRegion(site.region)
  await aws(ctx, `PutParameter ${site.writerParameter} (${site.region})`, () =>
    ssm.send(
      new PutParameterCommand({
        Name: site.writerParameter,
        Value: endpoint,
        Type: 'String',
        Overwrite: true,
        Description: 'Current PostgreSQL writer (host:port), switched by npm run dr -- promote',
      }),
    ),
  )
}

/** The shell command that does the same switch by hand. */
export function parameterCommand(site: Site, endpoint: string): string {
  return `aws ssm put-parameter --region ${site.region} --name ${site.writerParameter} --type String --overwrite --value ${endpoint}`
}

/** UPSERTs the `writer.<zone>` CNAME to the new host and waits until Route 53 reports INSYNC. */
export async function switchWriterRecord(
  ctx: Context,
  record: NonNullable<Topology['writerRecord']>,
  host: string,
  timeoutMs: number,
): Promise<void> {
  const { route53 } = ctx.clients
  const result = await aws(ctx, `ChangeResourceRecordSets ${record.name}`, () =>
    route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: record.hostedZoneId,
        ChangeBatch: {
          Comment: 'DR promotion: writer moves',
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: record.name,
                Type: 'CNAME',
                TTL: record.ttl,
                ResourceRecords: [{ Value: host }],
              },
            },
          ],
        },
      }),
    ),
  )
  const changeId = result.ChangeInfo?.Id
  if (!changeId) return
  await pollUntil(ctx, record.name, timeoutMs, async () => {
    const change = await aws(ctx, `GetChange ${changeId}`, () =>
      route53.send(new GetChangeCommand({ Id: changeId })),
    )
    const status = change.ChangeInfo?.Status ?? 'unknown'
    return { done: status === 'INSYNC', detail: status, value: undefined }
  })
}

/** The shell command that does the same record switch by hand. */
export function recordCommand(record: NonNullable<Topology['writerRecord']>, host: string): string {
  const batch = JSON.stringify({
    Changes: [
      {
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: record.name,
          Type: 'CNAME',
          TTL: record.ttl,
          ResourceRecords: [{ Value: host }],
        },
      },
    ],
  })
  return `aws route53 change-resource-record-sets --hosted-zone-id ${record.hostedZoneId} --change-batch '${batch}'`
}
