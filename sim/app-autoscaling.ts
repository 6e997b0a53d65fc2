// Application Auto Scaling's DeregisterScalableTarget as AWS answers it, where moto 5.2.1 does not:
// - "Deregistering a scalable target deletes the scaling policies and the scheduled actions that
//   are associated with it." (Application Auto Scaling API reference, API_DeregisterScalableTarget);
//   deleting a target tracking policy "also deletes the CloudWatch alarms that Application Auto
//   Scaling created on your behalf" (Application Auto Scaling user guide,
//   https://docs.aws.amazon.com/autoscaling/application/userguide/delete-target-tracking-policy.html).
//   moto deletes the target alone (moto/applicationautoscaling/models.py deregister_scalable_target),
//   leaving its policies and their alarms; its DeleteScalingPolicy deletes a policy's alarms. So the
//   layer deletes the target's policies through moto's DeleteScalingPolicy, then passes the call on.
// - A target that is not registered: ObjectNotFoundException ("For any operation that depends on the
//   existence of a scalable target, this exception is thrown if the scalable target with the
//   specified service namespace, resource ID, and scalable dimension does not exist": the API
//   reference, Errors); moto answers ValidationException.
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DescribeScalableTargetsCommand,
  type ScalableDimension,
  type ServiceNamespace,
  paginateDescribeScalingPolicies,
} from '@aws-sdk/client-application-auto-scaling'
import type { AwsHooks } from './faults.ts'
import { ownAws } from './own-aws.ts'

export function appAutoScalingHooks(motoEndpoint: string): AwsHooks {
  const clients = new Map<string, ApplicationAutoScalingClient>()
  const client = (region: string) => {
    let c = clients.get(region)
    if (!c) clients.set(region, (c = new ApplicationAutoScalingClient(ownAws(region, motoEndpoint))))
    return c
  }
  return {
    async serve(service, _method, action, body, _authorization, region) {
      if (service !== 'application-autoscaling' || action !== 'DeregisterScalableTarget') return undefined
      let req: { ServiceNamespace?: string; ResourceId?: string; ScalableDimension?: string }
      try {
        req = JSON.parse(body)
      } catch {
        return undefined // moto answers a body it cannot read
      }
      if (!req.ServiceNamespace || !req.ResourceId || !req.ScalableDimension) return undefined
      const target = {
        ServiceNamespace: req.ServiceNamespace as ServiceNamespace,
        ResourceId: req.ResourceId,
        ScalableDimension: req.ScalableDimension as ScalableDimension,
      }
      const c = client(region)
      const found = (
        await c.send(
          new DescribeScalableTargetsCommand({
            ServiceNamespace: target.ServiceNamespace,
            ResourceIds: [target.ResourceId],
            ScalableDimension: target.ScalableDimension,
          }),
        )
      ).ScalableTargets?.length
      if (!found)
        return {
          status: 400,
          errorType: 'ObjectNotFoundException',
          body: {
            __type: 'ObjectNotFoundException',
            Message: `No scalable target registered for service namespace: ${target.ServiceNamespace}, resource ID: ${target.ResourceId}, scalable dimension: ${target.ScalableDimension}`,
          },
        }
      const names: string[] = []
      for await (const page of paginateDescribeScalingPolicies(
        { client: c },
        { ServiceNamespace: target.ServiceNamespace, ResourceId: target.ResourceId, ScalableDimension: target.ScalableDimension },
      ))
        for (const p of page.ScalingPolicies ?? []) names.push(p.PolicyName!)
      for (const PolicyName of names) await c.send(new DeleteScalingPolicyCommand({ ...target, PolicyName }))
      return undefined
    },
  }
}
