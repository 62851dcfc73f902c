package notify

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// SlackOptions parameterise the message. BaseURL is the web console's address
// (greenlight serve's, or an AWS console path): links are BaseURL +
// /pipelines/{pipeline}/executions/{id} (#approval for approvals) and BaseURL +
// /deployments/{id}. Empty: no links.
type SlackOptions struct {
	BaseURL string
}

// SlackMessage is an incoming-webhook payload: Block Kit blocks and the text
// Slack shows in notifications and where blocks cannot be shown.
type SlackMessage struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is one Block Kit block, as JSON.
type Block = map[string]any

// Block Kit limits (api.slack.com/reference/block-kit/blocks).
const (
	maxHeaderText  = 150
	maxFieldText   = 2000
	maxSectionText = 3000
)

// Slack builds the message for a notification. It is a pure function of the
// CodeStar-shaped notification, so the AWS side (a Lambda subscribed to the rule's
// SNS topic) sends the same message as greenlight serve.
func Slack(n Notification, opts SlackOptions) SlackMessage {
	title := emoji(n) + " " + headline(n)
	blocks := []Block{
		{"type": "header", "text": plain(clipText(title, maxHeaderText))},
	}
	if f := fields(n); len(f) > 0 {
		blocks = append(blocks, Block{"type": "section", "fields": f})
	}
	if text := details(n); text != "" {
		blocks = append(blocks, Block{"type": "section", "text": mrkdwn(clipText(text, maxSectionText))})
	}
	if link := Link(n, opts.BaseURL); link != "" {
		blocks = append(blocks, Block{"type": "actions", "elements": []Block{{
			"type": "button", "text": plain(linkLabel(n)), "url": link,
		}}})
	}
	blocks = append(blocks, Block{"type": "context", "elements": []Block{
		mrkdwn(n.EventType() + " · " + n.Time.UTC().Format("2006-01-02 15:04:05 UTC")),
	}})
	return SlackMessage{Text: title, Blocks: blocks}
}

func plain(s string) Block  { return Block{"type": "plain_text", "text": s, "emoji": true} }
func mrkdwn(s string) Block { return Block{"type": "mrkdwn", "text": s} }

// headline says what happened in one line.
func headline(n Notification) string {
	switch n.DetailType {
	case DetailDeployment:
		return fmt.Sprintf("deployment %s %s (%s/%s)", n.str("deploymentId"), lowerState(n), n.str("application"), n.str("deploymentGroup"))
	case DetailTrafficShift:
		return fmt.Sprintf("traffic shifted: %s", n.str("message"))
	case DetailAlarm:
		return fmt.Sprintf("alarm %s is %s", n.str("alarmName"), alarmState(n))
	}
	what := "pipeline execution"
	switch {
	case n.EventType() == "codepipeline-pipeline-manual-approval-needed":
		return fmt.Sprintf("%s: approval needed at %s/%s", n.str("pipeline"), n.str("stage"), n.str("action"))
	case n.DetailType == DetailStageExecution:
		what = "stage " + n.str("stage")
	case n.DetailType == DetailActionExecution:
		what = "action " + n.str("stage") + "/" + n.str("action")
	}
	return fmt.Sprintf("%s: %s %s", n.str("pipeline"), what, lowerState(n))
}

func lowerState(n Notification) string {
	s := n.EventType()
	return s[strings.LastIndex(s, "-")+1:]
}

func alarmState(n Notification) string {
	v, _ := n.sub("state")["value"].(string)
	return v
}

var emojis = map[string]string{
	"succeeded": ":white_check_mark:", "failed": ":x:", "started": ":arrow_forward:", "needed": ":raised_hand:",
	"canceled": ":no_entry_sign:", "superseded": ":fast_forward:", "resumed": ":repeat:",
	"changed": ":rotating_light:", "shifted": ":twisted_rightwards_arrows:",
}

func emoji(n Notification) string {
	if n.DetailType == DetailAlarm && alarmState(n) == "OK" {
		return ":large_green_circle:"
	}
	if e, ok := emojis[lowerState(n)]; ok {
		return e
	}
	return ":information_source:"
}

// fields are the facts: pipeline, stage, status, revision, duration (or the
// deployment's and alarm's own).
func fields(n Notification) []Block {
	var out []Block
	add := func(label, value string) {
		if value != "" && len(out) < 10 {
			out = append(out, mrkdwn(clipText("*"+label+"*\n"+value, maxFieldText)))
		}
	}
	switch n.DetailType {
	case DetailDeployment, DetailTrafficShift, DetailAlarm:
		add("Deployment", n.str("deploymentId"))
		add("Deployment group", strings.Trim(n.str("application")+"/"+n.str("deploymentGroup"), "/"))
		if r, _ := n.sub("state")["reason"].(string); r != "" {
			add("Reason", r)
		}
		return out
	}
	add("Pipeline", n.str("pipeline"))
	add("Stage", n.str("stage"))
	add("Status", strings.ToUpper(lowerState(n)))
	add("Revision", revision(n))
	add("Duration", duration(n))
	add("Execution", n.str("execution-id"))
	return out
}

// revision is "`abc1234` subject — author (branch)" from execution-trigger.
func revision(n Notification) string {
	t := n.sub("execution-trigger")
	get := func(k string) string { s, _ := t[k].(string); return s }
	id := get("commit-id")
	if id == "" {
		return ""
	}
	s := "`" + id[:min(len(id), 7)] + "`"
	if subject, _, _ := strings.Cut(get("commit-message"), "\n"); subject != "" {
		s += " " + subject
	}
	if a := get("author-display-name"); a != "" {
		s += " — " + a
	}
	if b := get("branch-name"); b != "" {
		s += " (" + b + ")"
	}
	return s
}

// duration is the time from the execution's start to a final state.
func duration(n Notification) string {
	switch strings.ToLower(n.str("state")) {
	case "", "started", "resumed", "stopping":
		return ""
	}
	start, err := time.Parse(time.RFC3339Nano, n.str("start-time"))
	if err != nil || n.Time.Before(start) {
		return ""
	}
	return n.Time.Sub(start).Round(time.Second).String()
}

// details are the FULL rule's additions: the message, an approval's request.
func details(n Notification) string {
	a := n.AdditionalAttributes
	get := func(k string) string { s, _ := a[k].(string); return s }
	var lines []string
	if m := get("message"); m != "" {
		lines = append(lines, m)
	}
	if c := get("customData"); c != "" && c != get("message") {
		lines = append(lines, "> "+c)
	}
	if l := get("externalEntityLink"); l != "" {
		lines = append(lines, "Review: "+l)
	}
	if by := get("rolledBackBy"); by != "" {
		lines = append(lines, "Rolled back by deployment "+by)
	}
	return strings.Join(lines, "\n")
}

// Link is where the notification's subject is shown in the console, or "".
func Link(n Notification, base string) string {
	if base == "" {
		return ""
	}
	base = strings.TrimSuffix(base, "/")
	if id := n.str("deploymentId"); id != "" {
		return base + "/deployments/" + url.PathEscape(id)
	}
	p, id := n.str("pipeline"), n.str("execution-id")
	if p == "" || id == "" {
		return ""
	}
	link := base + "/pipelines/" + url.PathEscape(p) + "/executions/" + url.PathEscape(id)
	if strings.HasPrefix(n.EventType(), "codepipeline-pipeline-manual-approval-") {
		link += "#approval"
	}
	return link
}

func linkLabel(n Notification) string {
	switch {
	case n.EventType() == "codepipeline-pipeline-manual-approval-needed":
		return "Review and approve"
	case n.str("deploymentId") != "":
		return "Open deployment"
	}
	return "Open execution"
}

// clipText keeps s within max characters, ending in … when cut.
func clipText(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
