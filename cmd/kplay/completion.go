package main

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Prints the script that makes a shell complete kplay's commands, flags and role names.

  bash:  source <(kplay completion bash)       (needs the bash-completion package)
  zsh:   kplay completion zsh > "${fpath[1]}/_kplay"
  fish:  kplay completion fish > ~/.config/fish/completions/kplay.fish`,
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, w := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			default:
				return root.GenFishCompletion(w, true)
			}
		},
	}
}
