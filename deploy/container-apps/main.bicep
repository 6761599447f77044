// defender-ledger on Azure Container Apps: the daily snapshot and the monthly report as two
// scheduled jobs in an existing Container Apps environment, both running as one user-assigned
// managed identity. No secret is stored: the identity authorises Resource Graph and Blob
// Storage, and pulls the image when the registry is an Azure Container Registry.
//
// Role assignments are not made here (they need rights at management-group scope that the
// deploying principal should not hold): the security team grants them with the commands in
// docs/deploy.md, to the principalId this template outputs.
//
//   az deployment group create -g rg-defender-ledger -f deploy/container-apps/main.bicep \
//     -p environmentId=... image=contoso.azurecr.io/defender-ledger:0.1.0 \
//        registryServer=contoso.azurecr.io managementGroups=mg-contoso \
//        costLocation=https://acct.blob.core.windows.net/msexports costExports=focus-monthly \
//        outputLocation=https://acct.blob.core.windows.net/reports/ledger

targetScope = 'resourceGroup'

@description('Region of the identity and the jobs; the environment\'s region.')
param location string = resourceGroup().location

@description('Resource id of an existing Container Apps environment.')
param environmentId string

@description('Image reference, e.g. contoso.azurecr.io/defender-ledger:0.1.0 (pin a tag or digest).')
param image string

@description('Registry login server pulled with the managed identity (needs AcrPull); empty for a public image.')
param registryServer string = ''

@description('Name of the user-assigned managed identity the jobs run as.')
param identityName string = 'id-defender-ledger'

@description('Management groups whose subscriptions are measured (comma-separated).')
param managementGroups string

@description('Blob URL of the Cost Management export container (and prefix).')
param costLocation string

@description('Export names that feed showback (comma-separated).')
param costExports string

@description('Blob URL of the reports container (and prefix); history is kept under it too.')
param outputLocation string

@description('Daily snapshot schedule, cron in UTC.')
param snapshotSchedule string = '15 0 * * *'

@description('Monthly report schedule, cron in UTC: the previous month is reported.')
param reportSchedule string = '0 6 2 * *'

param tags object = {
  application: 'defender-ledger'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

var registries = empty(registryServer) ? [] : [
  {
    server: registryServer
    identity: identity.id
  }
]

// Locations only: no key, SAS token or connection string.
var env = [
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
  {
    name: 'DEFENDER_LEDGER_AZURE_CREDENTIAL'
    value: 'managed-identity'
  }
  {
    name: 'DEFENDER_LEDGER_AZURE_MANAGEMENT_GROUPS'
    value: managementGroups
  }
  {
    name: 'DEFENDER_LEDGER_COST_LOCATION'
    value: costLocation
  }
  {
    name: 'DEFENDER_LEDGER_COST_EXPORTS'
    value: costExports
  }
  {
    name: 'DEFENDER_LEDGER_OUTPUT_LOCATION'
    value: outputLocation
  }
]

resource snapshotJob 'Microsoft.App/jobs@2024-03-01' = {
  name: 'defender-ledger-snapshot'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      triggerType: 'Schedule'
      // Two hours, far below the one-day interval, so executions never overlap.
      replicaTimeout: 7200
      replicaRetryLimit: 2
      scheduleTriggerConfig: {
        cronExpression: snapshotSchedule
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'defender-ledger'
          image: image
          args: [
            '--log-format'
            'json'
            'snapshot'
            '--source'
            'azure'
          ]
          env: env
          // ESTIMATE, not a measurement (see docs/deploy.md).
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
        }
      ]
    }
  }
}

resource reportJob 'Microsoft.App/jobs@2024-03-01' = {
  name: 'defender-ledger-report'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      triggerType: 'Schedule'
      replicaTimeout: 14400
      replicaRetryLimit: 1
      scheduleTriggerConfig: {
        cronExpression: reportSchedule
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'defender-ledger'
          image: image
          // The previous UTC month, computed when the replica starts; exec keeps the exit code.
          command: [
            '/bin/sh'
            '-c'
          ]
          args: [
            'exec /usr/local/bin/defender-ledger --log-format json report --period "$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)"'
          ]
          env: env
          // ESTIMATE, not a measurement: ~1 GiB peak for 10M cost rows, plus headroom.
          resources: {
            cpu: json('1.5')
            memory: '3Gi'
          }
        }
      ]
    }
  }
}

@description('Object id to grant the roles in docs/deploy.md to.')
output principalId string = identity.properties.principalId

@description('Client id of the identity (set as AZURE_CLIENT_ID in both jobs).')
output clientId string = identity.properties.clientId

output snapshotJobName string = snapshotJob.name
output reportJobName string = reportJob.name
