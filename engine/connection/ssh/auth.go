package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/melbahja/goph"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AuthError says that kplay could not log in to a host.
type AuthError struct {
	Host string
	User string
	// Rejected is true when the server refused every key offered, false when kplay had no
	// usable key to offer.
	Rejected bool
	// Sources lists the keys offered ("key file PATH", "ssh-agent") when Rejected, and why
	// each configured source was unusable otherwise.
	Sources []string
}

func (e *AuthError) Error() string {
	if e.Rejected {
		return fmt.Sprintf("login as %s on %s failed: the server rejected every key offered (%s); "+
			"check the user and that one of these keys is in its authorized_keys",
			e.User, e.Host, strings.Join(e.Sources, ", "))
	}
	if len(e.Sources) == 0 {
		return fmt.Sprintf("no SSH key to log in as %s on %s: configure a key file or ssh-agent",
			e.User, e.Host)
	}
	return fmt.Sprintf("no usable SSH key to log in as %s on %s: %s",
		e.User, e.Host, strings.Join(e.Sources, "; "))
}

// isAuthFailure recognizes x/crypto's login failure, which has no error type of its own.
func isAuthFailure(err error) bool {
	return err != nil && strings.Contains(err.Error(), "ssh: unable to authenticate")
}

// auth is the login material for one dial.
type auth struct {
	methods []gossh.AuthMethod
	agent   net.Conn // to close with the connection
	sources []string // what is offered, for AuthError
}

// newAuth loads the key files and connects to ssh-agent. All keys go into one publickey
// method: x/crypto tries each method name once, so a second publickey method would never run.
func newAuth(cfg Config) (*auth, error) {
	a := &auth{}
	var signers []gossh.Signer
	var problems []string
	if cfg.UseAgent {
		agentSigners, err := a.connectAgent()
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			signers = append(signers, agentSigners...)
			a.sources = append(a.sources, "ssh-agent")
		}
	}
	for _, file := range cfg.KeyFiles {
		signer, err := loadKey(file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		signers = append(signers, signer)
		a.sources = append(a.sources, "key file "+file)
	}
	if len(signers) == 0 {
		a.close()
		return nil, &AuthError{Host: cfg.Host, User: cfg.User, Sources: problems}
	}
	a.methods = goph.Auth{gossh.PublicKeys(signers...)}
	return a, nil
}

func loadKey(file string) (gossh.Signer, error) {
	signer, err := goph.GetSigner(file, "")
	var missing *gossh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("key file %s is protected by a passphrase: load it into ssh-agent",
			file)
	case err != nil:
		return nil, fmt.Errorf("key file %s: %w", file, err)
	}
	return signer, nil
}

// connectAgent returns the agent's keys. It lists them now rather than when the server asks,
// so an agent that is unreachable or empty is reported as such.
func (a *auth) connectAgent() ([]gossh.Signer, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, errors.New("ssh-agent: SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent unreachable: %w", err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent: %w", err)
	}
	if len(signers) == 0 {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent at %s holds no keys", sock)
	}
	a.agent = conn
	return signers, nil
}

func (a *auth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}
