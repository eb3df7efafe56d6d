// Package schedule is the arithmetic of TaskSchedules, in pure functions:
// reading a cron expression in its time zone with robfig/cron (the parser
// the CronJob controller uses), finding the tick due now after downtime and
// the next one, deciding under each concurrency policy, and building the
// Task a tick starts.
//
// It follows the CronJob controller (pkg/controller/cronjob/utils.go): the
// ticks are counted from the last scheduled one, or the schedule's
// creation, but no earlier than startingDeadlineSeconds ago; only the most
// recent missed tick starts; past 100 missed ticks the caller says so in an
// Event rather than walking them all; and Forbid does not record a skipped
// tick, so it still starts once the running Task ends, if its deadline
// allows.
//
// It may import only the API types, robfig/cron and Kubernetes' libraries;
// the webhook and the reconciler call it, and it never reads a cluster.
package schedule
