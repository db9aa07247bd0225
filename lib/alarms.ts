import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

const ALARM_PERIOD = Duration.minutes(5);

export interface AlarmsProps {
  readonly deadLetterQueue: IQueue;
  readonly ingestFunction: IFunction;
  /** Uploads the ingest function rejected. */
  readonly filesRejected: IMetric;
  /** Subscribed to the alarm topic when given. */
  readonly email?: string;
}

/**
 * Each alarm means a person has to look: an upload that could not be processed after every retry, a crashing
 * function, or an upload rejected as malformed. All go to one SNS topic.
 */
export class Alarms extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);

    // Not KMS-encrypted: the messages are alarm notices without lake data, CloudWatch cannot publish to a topic
    // encrypted with the AWS-managed SNS key, and a customer-managed key would cost more than the rest of the stack.
    this.topic = new Topic(this, 'Topic', { displayName: 'navlake alarms', enforceSSL: true });
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));

    const notify = new SnsAction(this.topic);
    const alarmWhenAny = (id: string, alarmDescription: string, metric: IMetric): void => {
      const alarm = new Alarm(this, id, {
        alarmDescription,
        metric,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No uploads means no data points, which is not a problem.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(notify);
    };

    alarmWhenAny(
      'DeadLetters',
      'An upload failed every retry and waits in the ingest dead-letter queue.',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, statistic: 'Maximum' }),
    );
    alarmWhenAny(
      'IngestErrors',
      'The ingest function failed a whole invocation (crash or timeout).',
      props.ingestFunction.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
    );
    alarmWhenAny(
      'RejectedUploads',
      'An upload was rejected; the reason is in the lake under rejected/ and in the ingestions table.',
      props.filesRejected,
    );
  }
}
