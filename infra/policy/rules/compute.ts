// EBS volumes (standalone, instance root and data disks, launch templates) are encrypted, and ECS
// services roll back a failing deployment on their own.
import type * as aws from '@pulumi/aws'
import type { ResourceValidationPolicy } from '@pulumi/policy'
import type * as pulumi from '@pulumi/pulumi'
import { isTrue, ofType, T } from '../resources.js'

type Volume = pulumi.Unwrap<aws.ebs.VolumeArgs>
type Instance = pulumi.Unwrap<aws.ec2.InstanceArgs>
type LaunchTemplate = pulumi.Unwrap<aws.ec2.LaunchTemplateArgs>
type Service = pulumi.Unwrap<aws.ecs.ServiceArgs>

/** EBS storage is encrypted wherever it is declared. */
export const ebsEncryption: ResourceValidationPolicy = {
  name: 'ebs-encryption-at-rest',
  description: 'EBS volumes, instance block devices and launch template volumes are encrypted.',
  enforcementLevel: 'mandatory',
  validateResource: [
    ofType<Volume>([T.ebsVolume], (v, args, report) => {
      if (!isTrue(v.encrypted)) report(`${args.name}: encrypted must be true`)
    }),
    ofType<Instance>([T.ec2Instance], (i, args, report) => {
      if (!isTrue(i.rootBlockDevice?.encrypted))
        report(`${args.name}: rootBlockDevice.encrypted must be true`)
      for (const d of i.ebsBlockDevices ?? []) {
        if (!isTrue(d.encrypted)) report(`${args.name}: EBS device ${d.deviceName} must be encrypted`)
      }
    }),
    ofType<LaunchTemplate>([T.launchTemplate], (lt, args, report) => {
      for (const m of lt.blockDeviceMappings ?? []) {
        if (m.ebs && !isTrue(m.ebs.encrypted))
          report(`${args.name}: volume ${m.deviceName} must be encrypted`)
      }
    }),
  ],
}

/** ECS services stop and roll back a deployment whose tasks keep failing. */
export const ecsCircuitBreaker: ResourceValidationPolicy = {
  name: 'ecs-circuit-breaker',
  description: 'ECS services enable the deployment circuit breaker with rollback.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Service>(
    [T.ecsService, T.awsxFargateService, T.awsxEc2Service],
    (svc, args, report) => {
      // Blue/green (CODE_DEPLOY) and EXTERNAL controllers roll back through their own machinery.
      const controller = svc.deploymentController?.type ?? 'ECS'
      if (controller !== 'ECS') return
      const cb = svc.deploymentCircuitBreaker
      if (!isTrue(cb?.enable) || !isTrue(cb?.rollback)) {
        report(`${args.name}: deploymentCircuitBreaker must be { enable: true, rollback: true }`)
      }
    },
  ),
}
