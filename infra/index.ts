// Stack entry: read typed config, build the region, export what other stacks and operators need.
import { loadConfig } from './src/config.js'
import { buildRegion } from './src/region.js'

const region = buildRegion(loadConfig())

export const vpcId = region.vpcId
export const peeringConnectionId = region.peeringConnectionId
export const albDnsName = region.albDnsName
export const albZoneId = region.albZoneId
export const healthCheckPath = region.healthCheckPath
export const healthCheckUrl = region.healthCheckUrl
export const dbIdentifier = region.dbIdentifier
export const dbRole = region.dbRole
export const dbArn = region.dbArn
export const dbEndpoint = region.dbEndpoint
export const dbAddress = region.dbAddress
// The RDS-managed master secret's ARN (not its value): a born primary's, while RDS manages the password.
export const dbSecretArn = region.dbSecretArn
export const dbReadReplicaIdentifiers = region.dbReadReplicaIdentifiers
export const writerEndpointParameter = region.writerEndpointParameter
export const imageParameter = region.imageParameter
export const redisEndpoint = region.redisEndpoint
export const uploadsBucketName = region.uploadsBucketName
export const uploadsBucketArn = region.uploadsBucketArn
export const assetsBucketName = region.assetsBucketName
export const assetsBucketArn = region.assetsBucketArn
export const logsBucketName = region.logsBucketName
export const logsBucketArn = region.logsBucketArn
export const kmsKeyArn = region.kmsKeyArn
export const clusterName = region.clusterName
export const serviceName = region.serviceName
export const migrationTaskDefinitionArn = region.migrationTaskDefinitionArn
export const bootstrapTaskDefinitionArn = region.bootstrapTaskDefinitionArn
export const privateSubnetIds = region.privateSubnetIds
export const serviceSecurityGroupId = region.serviceSecurityGroupId
export const alarmTopicArn = region.alarmTopicArn
export const healthCheckId = region.healthCheckId
export const cdnDistributionArn = region.cdnDistributionArn
export const cdnDomainName = region.cdnDomainName
