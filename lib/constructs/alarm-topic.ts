import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  /**
   * Address subscribed to the topic (the recipient must confirm the subscription).
   * @default - no subscription; subscribe a pager or chat integration separately
   */
  readonly email?: string;
  /**
   * Key that encrypts the topic (one key can serve several topics).
   * @default - a new customer-managed key with rotation
   */
  readonly key?: kms.Key;
  /**
   * @default - a generated name
   */
  readonly topicName?: string;
}

/**
 * An SNS topic that receives alarms, encrypted with a customer-managed key (the AWS managed SNS
 * key cannot be used by CloudWatch) and refusing publishes that are not over TLS.
 */
export class AlarmTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    if (props.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.email)) {
      throw new Error(`AlarmTopic: "${props.email}" is not an e-mail address`);
    }

    const account = Stack.of(this).account;
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    if (props.key !== undefined) {
      this.key = props.key;
    } else {
      this.key = new kms.Key(this, 'Key', {
        description: 'Encrypts the rate-limit alarm topics',
        enableKeyRotation: true,
        // The key protects nothing but alarm messages in transit; keeping it after the topics
        // are gone would only cost money.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // CloudWatch alarms publish as the service, so both the key and the topic must name it;
      // the source-account condition keeps other accounts' alarms out.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToUseTheKey',
          principals: [cloudWatch],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: props.topicName,
      masterKey: this.key,
      enforceSSL: true,
    });

    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );

    if (props.email !== undefined) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'E-mail notification of alarm state changes: SNS retries delivery itself, an undelivered e-mail has no consumer to replay it from a queue, and the alarm state stays visible in CloudWatch.',
      });
    }
  }
}
