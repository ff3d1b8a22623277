package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "__start_kplay",
		"zsh":  "#compdef kplay",
		"fish": "complete -c kplay",
	} {
		res := runKplay(t, t.TempDir(), "completion", shell)
		wantExit(t, res, exitOK)
		if !strings.Contains(res.stdout, marker) {
			t.Errorf("%s script lacks %q", shell, marker)
		}
	}
	res := runKplay(t, t.TempDir(), "completion", "tcsh")
	wantExit(t, res, exitBadOptions)
	if !strings.Contains(res.stderr, `invalid argument "tcsh"`) {
		t.Errorf("stderr = %q", res.stderr)
	}
}

// TestBashCompletesRoleNames sources the bash script and completes two command lines, so
// the script, kplay's hidden __complete command and the role name completion all work
// together.
func TestBashCompletesRoleNames(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	// The script uses one function of the bash-completion package; this stands in for it.
	const script = `
_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source <(kplay completion bash)
complete_line() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); __start_kplay; echo "${COMPREPLY[*]}"
}
complete_line kplay roles sh
complete_line kplay roles export e
complete_line kplay inv
`
	cmd := exec.Command(bash, "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(kplayBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	want := "show\netcd\ninventory\n"
	if string(out) != want {
		t.Errorf("completions %q, want %q", out, want)
	}
}
