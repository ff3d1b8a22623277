package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(n int, change map[int]string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			if s, ok := change[i]; ok {
				b.WriteString(s)
				continue
			}
			b.WriteString("l" + string(rune('a'+i-1)) + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name, before, after, want string
	}{
		{
			name: "insertion", before: "a\nb\nc\n", after: "a\nb\nX\nc\n",
			want: "@@ -1,3 +1,4 @@\n a\n b\n+X\n c\n",
		},
		{
			name: "deletion", before: "a\nb\nc\n", after: "a\nc\n",
			want: "@@ -1,3 +1,2 @@\n a\n-b\n c\n",
		},
		{
			name: "replacement keeps three lines of context", before: lines(10, nil),
			after: lines(10, map[int]string{5: "NEW\n"}),
			want:  "@@ -2,7 +2,7 @@\n lb\n lc\n ld\n-le\n+NEW\n lf\n lg\n lh\n",
		},
		{
			name: "distant changes make two hunks", before: lines(20, nil),
			after: lines(20, map[int]string{2: "B\n", 18: "R\n"}),
			want: "@@ -1,5 +1,5 @@\n la\n-lb\n+B\n lc\n ld\n le\n" +
				"@@ -15,6 +15,6 @@\n lo\n lp\n lq\n-lr\n+R\n ls\n lt\n",
		},
		{
			name: "close changes share a hunk", before: lines(12, nil),
			after: lines(12, map[int]string{3: "C\n", 8: "H\n"}),
			want:  "@@ -1,11 +1,11 @@\n la\n lb\n-lc\n+C\n ld\n le\n lf\n lg\n-lh\n+H\n li\n lj\n lk\n",
		},
		{
			name: "no newline at end", before: "a\nb", after: "a\nc",
			want: "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
		},
		{
			name: "newline added at end", before: "a", after: "a\n",
			want: "@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+a\n",
		},
		{name: "identical", before: "a\nb\n", after: "a\nb\n", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UnifiedDiff("f", tt.before, tt.after)
			head := "--- f (before)\n+++ f (after)\n"
			if !strings.HasPrefix(got, head) {
				t.Fatalf("no header:\n%s", got)
			}
			if body := strings.TrimPrefix(got, head); body != tt.want {
				t.Errorf("diff body:\n%s\nwant:\n%s", body, tt.want)
			}
		})
	}
}

// An empty side of a hunk starts at line 0, as diff -u writes it: "@@ -0,0 +1,2 @@".
func TestUnifiedDiffEmptySide(t *testing.T) {
	got := UnifiedDiff("f", "", "x\ny\n")
	want := "@@ -0,0 +1,2 @@\n+x\n+y\n"
	if !strings.HasSuffix(got, want) {
		t.Fatalf("diff of a new file is\n%s\nwant a hunk %q (output/diff.go renderHunk "+
			"prints start+1 for an empty range)", got, want)
	}
	if got := UnifiedDiff("f", "x\n", ""); !strings.HasSuffix(got, "@@ -1,1 +0,0 @@\n-x\n") {
		t.Errorf("diff of a removed content:\n%s", got)
	}
}

// Every diff must apply with patch(1) and give the new content back.
func TestUnifiedDiffAppliesWithPatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("patch not installed")
	}
	pairs := [][2]string{
		{"a\nb\nc\n", "a\nB\nc\nd\n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n", "0\n1\n2\n3\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n"},
		{"x\ny\nz", "x\ny\nz\n"},
		{"keep\nme\n", "keep\nme\nplus\n"},
		{"server a\nserver b\nserver c\n", "server c\nserver a\n"},
	}
	dir := t.TempDir()
	for i, p := range pairs {
		before := filepath.Join(dir, "before")
		out := filepath.Join(dir, "out")
		if err := os.WriteFile(before, []byte(p[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("patch", "-s", "-o", out, before)
		cmd.Stdin = strings.NewReader(UnifiedDiff("before", p[0], p[1]))
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("pair %d: patch: %v: %s\n%s", i, err, msg, UnifiedDiff("before", p[0], p[1]))
			continue
		}
		got, _ := os.ReadFile(out)
		if string(got) != p[1] {
			t.Errorf("pair %d: patched = %q, want %q", i, got, p[1])
		}
	}
}

func TestHumanRendersResultsAndRecap(t *testing.T) {
	var buf bytes.Buffer
	h := NewHuman(&buf, 0, true, true)
	rc := 2
	h.Emit(PlayStart{Name: "etcd", Hosts: []string{"n1", "n2"}})
	h.Emit(TaskStart{Play: "etcd", Name: "install", Role: "etcd"})
	h.Emit(HostResult{Host: "n1", Status: StatusChanged, Msg: "hidden unless verbose",
		Diffs: []FileDiff{{Path: "/etc/x", Before: "a\n", After: "b\n"}}})
	h.Emit(HostResult{Host: "n2", Status: StatusFailed, Msg: "non-zero exit status 2", RC: &rc, Stderr: "boom"})
	h.Emit(TaskStart{Play: "etcd", Name: "restart etcd", Handler: true})
	h.Emit(Warning{Host: "n2", Msg: "careful"})
	h.Emit(Recap{
		Hosts: []string{"n2", "longer-name", "n1"},
		Counts: map[string]Counts{
			"n1":          {OK: 3, Changed: 1, Skipped: 2},
			"n2":          {OK: 1, Failed: 1, Ignored: 1},
			"longer-name": {Unreachable: 1},
		},
		Duration: 1500 * time.Millisecond, Transferred: 2048,
	})
	out := buf.String()
	for _, want := range []string{
		"PLAY [etcd] ***",
		"TASK [etcd : install] ***",
		"changed: [n1]\n",
		"failed: [n2] => non-zero exit status 2\n",
		"      boom\n",
		"+++ /etc/x on n1 (after)\n",
		"-a\n+b\n",
		"RUNNING HANDLER [restart etcd] ***",
		"[WARNING] n2: careful\n",
		"PLAY RECAP ***",
		"longer-name : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0\n",
		"n1          : ok=3    changed=1    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0\n",
		"n2          : ok=1    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=1\n",
		"run time: 1.5s, uploaded: 2.0 KiB",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden unless verbose") {
		t.Error("a changed host's message was shown without -v")
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("color escapes with noColor")
	}
	if strings.Index(out, "longer-name :") > strings.Index(out, "n1          :") {
		t.Error("recap hosts are not sorted")
	}
}

func TestJSONEmitsOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSON(&buf)
	events := []Event{
		PlayStart{Name: "p", Hosts: []string{"n1"}},
		TaskStart{Play: "p", Name: "t"},
		HostResult{Play: "p", Task: "t", Host: "n1", Status: StatusOK, Msg: "multi\nline"},
		Warning{Msg: "w"},
		Recap{Hosts: []string{"n1"}, Counts: map[string]Counts{"n1": {OK: 1}}},
	}
	for _, e := range events {
		j.Emit(e)
	}
	sc := bufio.NewScanner(&buf)
	var types []string
	for sc.Scan() {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		var typ string
		json.Unmarshal(obj["type"], &typ)
		types = append(types, typ)
		if typ == "result" && !strings.Contains(string(obj["event"]), `"status":"ok"`) {
			t.Errorf("result line lacks its status: %s", sc.Text())
		}
		if typ == "recap" && !strings.Contains(string(obj["event"]), `"n1":{"ok":1`) {
			t.Errorf("recap line lacks its counts: %s", sc.Text())
		}
	}
	if got := strings.Join(types, ","); got != "play,task,result,warning,recap" {
		t.Errorf("types = %s", got)
	}
}

// With -v the recap is preceded by the slowest tasks, slowest first; without it, nothing.
func TestHumanTimingSummary(t *testing.T) {
	for _, verbose := range []int{0, 1} {
		var b strings.Builder
		h := NewHuman(&b, verbose, false, true)
		h.Emit(HostResult{Play: "p", Task: "fast", Host: "n1", Status: StatusOK, Duration: 2 * time.Millisecond})
		h.Emit(HostResult{Play: "p", Task: "slow", Host: "n1", Status: StatusOK, Duration: 3 * time.Second})
		h.Emit(HostResult{Play: "p", Task: "fast", Host: "n2", Status: StatusOK, Duration: 5 * time.Millisecond})
		h.Emit(Recap{Hosts: []string{"n1", "n2"}, Counts: map[string]Counts{}})
		out := b.String()
		has := strings.Contains(out, "TASK TIMES")
		if has != (verbose > 0) {
			t.Fatalf("verbose %d: timing summary shown %v:\n%s", verbose, has, out)
		}
		if verbose > 0 {
			slow, fast := strings.Index(out, "p / slow"), strings.Index(out, "p / fast")
			if slow < 0 || fast < slow || !strings.Contains(out, "5ms") {
				t.Errorf("summary order or slowest host's time wrong:\n%s", out)
			}
		}
	}
}
