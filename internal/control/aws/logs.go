package aws

import (
	"context"
	"fmt"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// ReadLog returns part of a CodeBuild action's log, read from CloudWatch Logs
// (the build's group and stream, from BatchGetBuilds by the build id the action
// execution records). Other actions write no log on AWS: their text is empty.
func (b *Backend) ReadLog(ctx context.Context, req control.LogRequest) (control.LogChunk, error) {
	v, act, err := b.action(ctx, req.ActionRef)
	if err != nil {
		return control.LogChunk{}, err
	}
	growing := !v.Status.Final() || act.Status == control.StatusInProgress
	text := ""
	if act.Provider == manifest.ProviderCodeBuild && act.ExternalID != "" {
		if text, err = b.cachedBuildLog(ctx, act.ExternalID, act.Status == control.StatusInProgress); err != nil {
			return control.LogChunk{}, err
		}
	}
	chunk := sliceLog(text, req.Offset, cmpLimit(req.Limit))
	chunk.More = chunk.More || growing
	return chunk, nil
}

func cmpLimit(limit int) int {
	if limit <= 0 {
		return control.DefaultLogLimit
	}
	return limit
}

// sliceLog cuts limit bytes of text from offset (negative: from the end).
func sliceLog(text string, offset int64, limit int) control.LogChunk {
	size := int64(len(text))
	if offset < 0 {
		offset = max(size+offset, 0)
	}
	offset = min(offset, size)
	end := min(offset+int64(limit), size)
	return control.LogChunk{Text: text[offset:end], Offset: offset, NextOffset: end, More: end < size}
}

// cachedBuildLog is a build's log: read once when the build has ended, at most
// twice a Refresh while it runs.
func (b *Backend) cachedBuildLog(ctx context.Context, id string, running bool) (string, error) {
	now, ttl := b.opts.Now(), b.refresh()/2
	if !running {
		ttl = time.Duration(1<<63 - 1)
	}
	key := fmt.Sprintf("%s|%v", id, running) // the log of a running build is not the final one
	if text, ok := b.buildLogs.get(key, now, ttl); ok {
		return text, nil
	}
	text, err := b.buildLog(ctx, id)
	if err == nil {
		b.buildLogs.put(key, now, text)
	}
	return text, err
}

// build reads one build.
func (b *Backend) build(ctx context.Context, id string) (*cbtypes.Build, error) {
	out, err := b.cb.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
	if err != nil {
		return nil, explain("read build "+id, err)
	}
	if len(out.Builds) == 0 {
		return nil, control.Errorf(control.CodeNotFound, "CodeBuild has no build %s (builds are kept a year)", id)
	}
	return &out.Builds[0], nil
}

// buildLog reads a build's whole log, page after page of GetLogEvents.
func (b *Backend) buildLog(ctx context.Context, id string) (string, error) {
	build, err := b.build(ctx, id)
	if err != nil {
		return "", err
	}
	if build.Logs == nil || build.Logs.GroupName == nil || build.Logs.StreamName == nil {
		return "", nil // not started yet, or logging to S3 only
	}
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: build.Logs.GroupName, LogStreamName: build.Logs.StreamName, StartFromHead: sdkaws.Bool(true)}
	var text strings.Builder
	for {
		out, err := b.logs.GetLogEvents(ctx, in)
		if isCode(err, "ResourceNotFoundException") {
			return text.String(), nil // the stream appears with the build's first line
		}
		if err != nil {
			return "", explain(fmt.Sprintf("read log %s of build %s", sdkaws.ToString(build.Logs.StreamName), id), err)
		}
		for _, e := range out.Events {
			text.WriteString(sdkaws.ToString(e.Message))
		}
		// The end of the stream: the same forward token comes back.
		if len(out.Events) == 0 || sdkaws.ToString(out.NextForwardToken) == sdkaws.ToString(in.NextToken) {
			return text.String(), nil
		}
		in.NextToken = out.NextForwardToken
	}
}

// Reports returns a CodeBuild action's test and coverage reports
// (BatchGetReports of the build's report ARNs); counts only, as CodeBuild
// summarizes them.
func (b *Backend) Reports(ctx context.Context, ref control.ActionRef) ([]report.Report, error) {
	_, act, err := b.action(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := []report.Report{}
	if act.Provider != manifest.ProviderCodeBuild || act.ExternalID == "" {
		return out, nil
	}
	build, err := b.build(ctx, act.ExternalID)
	if err != nil || len(build.ReportArns) == 0 {
		return out, err
	}
	got, err := b.cb.BatchGetReports(ctx, &codebuild.BatchGetReportsInput{ReportArns: build.ReportArns})
	if err != nil {
		return nil, explain("read the reports of build "+act.ExternalID, err)
	}
	for _, r := range got.Reports {
		out = append(out, reportOf(r, sdkaws.ToString(build.ProjectName)))
	}
	return out, nil
}

// reportOf maps a CodeBuild report; its group is the buildspec's report name
// (CodeBuild names the group "<project>-<report>").
func reportOf(r cbtypes.Report, project string) report.Report {
	group := sdkaws.ToString(r.ReportGroupArn)
	group = group[strings.LastIndex(group, "/")+1:]
	out := report.Report{Group: strings.TrimPrefix(group, project+"-"), Format: string(r.Type), File: sdkaws.ToString(r.Arn)}
	if s := r.TestSummary; s != nil {
		c := s.StatusCounts
		out.Tests = &report.TestSummary{Total: int(sdkaws.ToInt32(s.Total)), Passed: int(c[report.StatusSucceeded]), Failed: int(c[report.StatusFailed]),
			Skipped: int(c[report.StatusSkipped]), Errors: int(c[report.StatusError]) + int(c["UNKNOWN"])}
		out.Tests.Duration = time.Duration(sdkaws.ToInt64(s.DurationInNanoSeconds))
	}
	if c := r.CodeCoverageSummary; c != nil {
		out.Coverage = &report.CoverageSummary{
			LineRate: sdkaws.ToFloat64(c.LineCoveragePercentage) / 100, BranchRate: sdkaws.ToFloat64(c.BranchCoveragePercentage) / 100,
			LinesCovered: int(sdkaws.ToInt32(c.LinesCovered)), LinesTotal: int(sdkaws.ToInt32(c.LinesCovered) + sdkaws.ToInt32(c.LinesMissed)),
			BranchesCovered: int(sdkaws.ToInt32(c.BranchesCovered)), BranchesTotal: int(sdkaws.ToInt32(c.BranchesCovered) + sdkaws.ToInt32(c.BranchesMissed)),
		}
	}
	return out
}

// action returns an execution and one of its actions, NotFound when either is
// not there.
func (b *Backend) action(ctx context.Context, ref control.ActionRef) (*control.Execution, *control.Action, error) {
	v, err := b.GetExecution(ctx, ref.ExecutionID)
	if err != nil {
		return nil, nil, err
	}
	act, err := control.FindAction(v, ref)
	return v, act, err
}
