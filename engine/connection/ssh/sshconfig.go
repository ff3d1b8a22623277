package ssh

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// maxJumps bounds a chain of jump hosts, which ProxyJump entries naming each other can make
// endless.
const maxJumps = 10

// SSHConfig is a parsed OpenSSH client configuration file (ssh_config(5)), such as
// ~/.ssh/config. It is safe for concurrent use. A nil *SSHConfig sets nothing.
type SSHConfig struct {
	Path string
	file *ssh_config.Config
}

// SSHConfigError says that an OpenSSH client configuration file could not be read, parsed
// or used.
type SSHConfigError struct {
	Path string
	Line int // 0 when unknown
	Err  error
}

func (e *SSHConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("ssh config %s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("ssh config %s: %v", e.Path, e.Err)
}

func (e *SSHConfigError) Unwrap() error { return e.Err }

// LoadSSHConfig reads an OpenSSH client configuration file. A path of "" or a missing file
// gives a nil *SSHConfig, which sets nothing; a file that cannot be parsed is an
// *SSHConfigError. Include directives are followed as OpenSSH does.
func LoadSSHConfig(path string) (*SSHConfig, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &SSHConfigError{Path: path, Err: err}
	}
	file, err := ssh_config.DecodeBytes(b)
	if err != nil {
		return nil, parseError(path, err)
	}
	return &SSHConfig{Path: path, file: file}, nil
}

// parsePosition matches the "(line, column): " the parser puts before its messages.
var parsePosition = regexp.MustCompile(`^\((\d+), \d+\): (?s:(.*))$`)

func parseError(path string, err error) *SSHConfigError {
	m := parsePosition.FindStringSubmatch(err.Error())
	if m == nil {
		return &SSHConfigError{Path: path, Err: err}
	}
	line, _ := strconv.Atoi(m[1])
	msg := strings.TrimSpace(strings.TrimPrefix(m[2], "ssh_config: "))
	return &SSHConfigError{Path: path, Line: line, Err: errors.New(msg)}
}

// value is the first value of key for alias, as OpenSSH takes it: from the first block, in
// file order, that matches alias and sets key. line is where it is written, 0 for a value
// from an included file.
func (c *SSHConfig) value(alias, key string) (v string, line int) {
	if c == nil {
		return "", 0
	}
	for _, block := range c.file.Hosts {
		if !block.Matches(alias) {
			continue
		}
		for _, node := range block.Nodes {
			switch n := node.(type) {
			case *ssh_config.KV:
				if strings.EqualFold(n.Key, key) {
					return n.Value, n.Pos().Line
				}
			case *ssh_config.Include:
				if v := n.Get(alias, key); v != "" {
					return v, 0
				}
			}
		}
	}
	return "", 0
}

// values is every value of a key that may be given many times, such as IdentityFile.
func (c *SSHConfig) values(alias, key string) []string {
	if c == nil {
		return nil
	}
	all, _ := c.file.GetAll(alias, key) // fails only on node types the parser never makes
	return all
}

func (c *SSHConfig) errorAt(line int, format string, args ...any) error {
	return &SSHConfigError{Path: c.Path, Line: line, Err: fmt.Errorf(format, args...)}
}

// Settings are the connection settings the inventory wrote for a host. A zero field was
// not written, and leaves the setting to the OpenSSH client configuration, then to kplay's
// defaults.
type Settings struct {
	Address string
	User    string
	Port    int
	// KeyFiles, when not nil, replaces the configuration's IdentityFile entries; an empty
	// list offers the ssh-agent's keys only.
	KeyFiles []string
	// JumpChosen means the inventory chose how to reach the host, through one of its
	// hosts or directly: ProxyJump does not apply.
	JumpChosen bool
}

// Resolver works out how to reach hosts from what the inventory wrote and an OpenSSH client
// configuration. What the inventory wrote wins over the configuration, which wins over
// kplay's defaults (user root, port 22, the host's name as its address). It is safe for
// concurrent use.
type Resolver struct {
	SSHConfig *SSHConfig // nil: no configuration
	// Base holds what every connection shares (known_hosts, agent, timeouts, keepalive);
	// its Host, Address, Port, User, KeyFiles and Jump are ignored.
	Base Config
	// JumpDefaults fill in the user and key files when neither the ProxyJump entry nor the
	// configuration sets them for a jump host ProxyJump names: such a host is not in the
	// inventory, so the inventory's defaults come after the configuration. Only User and
	// KeyFiles are used: a port set for the inventory's hosts says nothing of a bastion's.
	JumpDefaults Settings
}

// Resolve returns how to reach the inventory's host name with the settings the inventory
// wrote. The configuration is looked up as ssh would be for the host's address when the
// inventory sets one, else for its name. ProxyJump, unless the inventory chose the jump
// itself, becomes Jump, each jump host resolved through the configuration in turn.
// Errors are *SSHConfigError.
func (r *Resolver) Resolve(name string, set Settings) (Config, error) {
	return r.resolve(name, set, Settings{}, 0)
}

// resolve applies over, then the configuration, then under, then kplay's defaults.
func (r *Resolver) resolve(name string, over, under Settings, depth int) (Config, error) {
	c := r.SSHConfig
	alias := cmp.Or(over.Address, name)
	cfg := r.Base
	cfg.Host, cfg.Jump = name, nil
	// An address the inventory wrote is what ssh would be given: its HostName applies.
	cfg.Address = cmp.Or(expandHostName(c.get(alias, "HostName"), alias), alias)
	cfg.User = cmp.Or(over.User, c.get(alias, "User"), under.User, "root")
	port, err := c.port(alias)
	if err != nil {
		return cfg, err
	}
	cfg.Port = cmp.Or(over.Port, port, under.Port, 22)
	cfg.KeyFiles = over.KeyFiles
	if cfg.KeyFiles == nil {
		if cfg.KeyFiles, err = c.identityFiles(alias, cfg); err != nil {
			return cfg, err
		}
	}
	if cfg.KeyFiles == nil {
		cfg.KeyFiles = under.KeyFiles
	}
	if over.JumpChosen {
		return cfg, nil
	}
	cfg.Jump, err = r.proxyJump(alias, depth)
	return cfg, err
}

func (c *SSHConfig) get(alias, key string) string {
	v, _ := c.value(alias, key)
	return v
}

func (c *SSHConfig) port(alias string) (int, error) {
	v, line := c.value(alias, "Port")
	if v == "" {
		return 0, nil
	}
	port, err := strconv.Atoi(v)
	if err != nil || port < 1 || port > 65535 {
		return 0, c.errorAt(line, "Port %q for %s is not a port number", v, alias)
	}
	return port, nil
}

// identityFiles are the IdentityFile entries for alias with "~" and the tokens expanded.
// nil means none is set.
func (c *SSHConfig) identityFiles(alias string, cfg Config) ([]string, error) {
	var files []string
	for _, f := range c.values(alias, "IdentityFile") {
		if strings.EqualFold(f, "none") {
			continue
		}
		path, err := expandPath(f, alias, cfg)
		if err != nil {
			return nil, &SSHConfigError{Path: c.Path, Err: fmt.Errorf("IdentityFile %q for %s: %w", f, alias, err)}
		}
		files = append(files, path)
	}
	return files, nil
}

// proxyJump resolves the ProxyJump of alias into the chain of jump hosts to reach it
// through, nil for none. As with ssh, in "a,b" the host is reached through b, and b
// through a; the first entry is reached as its own configuration says.
func (r *Resolver) proxyJump(alias string, depth int) (*Config, error) {
	c := r.SSHConfig
	spec, line := c.value(alias, "ProxyJump")
	if spec == "" || strings.EqualFold(spec, "none") {
		if cmd, line := c.value(alias, "ProxyCommand"); cmd != "" && !strings.EqualFold(cmd, "none") {
			return nil, c.errorAt(line, "ProxyCommand for %s: kplay supports ProxyJump only", alias)
		}
		return nil, nil
	}
	hops, err := parseJumps(spec)
	if err != nil {
		return nil, c.errorAt(line, "ProxyJump %q for %s: %w", spec, alias, err)
	}
	return r.chain(hops, depth)
}

// chain resolves jump hosts; the last of hops is the one next to the target.
func (r *Resolver) chain(hops []jumpHop, depth int) (*Config, error) {
	depth++
	if depth > maxJumps {
		return nil, &SSHConfigError{Path: r.SSHConfig.Path,
			Err: fmt.Errorf("more than %d jump hosts through ProxyJump: do they name each other?", maxJumps)}
	}
	last := hops[len(hops)-1]
	over := Settings{User: last.user, Port: last.port, JumpChosen: len(hops) > 1}
	under := Settings{User: r.JumpDefaults.User, KeyFiles: r.JumpDefaults.KeyFiles}
	jump, err := r.resolve(last.host, over, under, depth)
	if err != nil {
		return nil, err
	}
	if len(hops) > 1 {
		if jump.Jump, err = r.chain(hops[:len(hops)-1], depth); err != nil {
			return nil, err
		}
	}
	return &jump, nil
}

// jumpHop is one entry of a ProxyJump list: [user@]host[:port], or an ssh:// URI of that.
type jumpHop struct {
	user, host string
	port       int
}

func parseJumps(spec string) ([]jumpHop, error) {
	var hops []jumpHop
	for _, entry := range strings.Split(spec, ",") {
		hop, err := parseJump(strings.TrimSpace(entry))
		if err != nil {
			return nil, err
		}
		hops = append(hops, hop)
	}
	return hops, nil
}

func parseJump(entry string) (jumpHop, error) {
	var hop jumpHop
	hostPort := strings.TrimPrefix(entry, "ssh://")
	if i := strings.LastIndexByte(hostPort, '@'); i >= 0 {
		hop.user, hostPort = hostPort[:i], hostPort[i+1:]
	}
	hop.host = hostPort
	// A bare IPv6 address has colons but no port; one with a port is in brackets.
	if strings.HasPrefix(hostPort, "[") || strings.Count(hostPort, ":") == 1 {
		host, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			return hop, fmt.Errorf("%q: %w", entry, err)
		}
		hop.host = host
		if hop.port, err = strconv.Atoi(port); err != nil || hop.port < 1 || hop.port > 65535 {
			return hop, fmt.Errorf("%q: port %q is not a port number", entry, port)
		}
	}
	if hop.host == "" {
		return hop, fmt.Errorf("%q names no host", entry)
	}
	return hop, nil
}

// expandHostName replaces the tokens ssh allows in HostName: %h, the name looked up, and %%.
func expandHostName(v, alias string) string {
	return strings.NewReplacer("%%", "%", "%h", alias).Replace(v)
}

// expandPath expands a leading "~" and the tokens of ssh_config(5) that kplay knows the
// value of when it connects.
func expandPath(path, alias string, cfg Config) (string, error) {
	path, err := expandTokens(path, func(token byte) (string, error) {
		switch token {
		case '%':
			return "%", nil
		case 'h':
			return cfg.Address, nil
		case 'n':
			return alias, nil
		case 'p':
			return strconv.Itoa(cfg.Port), nil
		case 'r':
			return cfg.User, nil
		case 'd':
			return os.UserHomeDir()
		case 'u':
			return localUser()
		case 'l':
			return os.Hostname()
		case 'i':
			return strconv.Itoa(os.Getuid()), nil
		}
		return "", fmt.Errorf("token %%%c is not supported", token)
	})
	if err != nil {
		return "", err
	}
	return expandTilde(path)
}

func expandTokens(s string, value func(byte) (string, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", errors.New("a lone % ends it")
		}
		i++
		v, err := value(s[i])
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// expandTilde expands "~" and "~/..." to the home directory and "~name/..." to that user's.
func expandTilde(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "~")
	if !ok {
		return path, nil
	}
	name, rest, _ := strings.Cut(rest, "/")
	if name == "" {
		home, err := os.UserHomeDir()
		return filepath.Join(home, rest), err
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(u.HomeDir, rest), nil
}

func localUser() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	return u.Username, nil
}
