# The alarms of greenlight.yaml, on the load balancer's metrics. A single metric
# with a statistic or percentile, or metric math (e.g. 100 * errors / requests).

resource "aws_cloudwatch_metric_alarm" "alarm" {
  for_each            = var.greenlight.alarms
  alarm_name          = each.key
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison_operator
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  threshold           = each.value.threshold
  treat_missing_data  = each.value.treat_missing_data

  # A single metric; null for metric math.
  namespace          = each.value.metric_name == null ? null : "AWS/ApplicationELB"
  metric_name        = each.value.metric_name
  statistic          = each.value.statistic
  extended_statistic = each.value.extended_statistic
  period             = each.value.metric_name == null ? null : each.value.period
  dimensions         = each.value.metric_name == null ? null : { LoadBalancer = aws_lb.main.arn_suffix }

  dynamic "metric_query" {
    for_each = each.value.metric_queries
    content {
      id          = metric_query.value.id
      expression  = metric_query.value.expression
      label       = metric_query.value.label
      return_data = metric_query.value.return_data
      dynamic "metric" {
        for_each = metric_query.value.metric_name == null ? [] : [metric_query.value]
        content {
          namespace   = "AWS/ApplicationELB"
          metric_name = metric.value.metric_name
          stat        = metric.value.stat
          period      = each.value.period
          dimensions  = { LoadBalancer = aws_lb.main.arn_suffix }
        }
      }
    }
  }

  tags = local.tags
}
