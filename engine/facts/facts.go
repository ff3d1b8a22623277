// Package facts gathers what kplay needs to know about a host in one round trip, and caches
// it on the deploy host so a re-run does not ask again while the cache is fresh.
//
// Gathering runs one POSIX shell script that prints "key<TAB>value" lines; parsing them here
// keeps the script free of JSON quoting. The cache is one JSON file per host, written
// atomically; a gather that fails is never written.
package facts

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/kplay-dev/kplay/engine/connection"
	"github.com/kplay-dev/kplay/engine/internal/atomicfile"
)

// SchemaVersion changes whenever the shape of Facts changes, invalidating older caches.
const SchemaVersion = 1

// Facts describe one host.
type Facts struct {
	Hostname  string   `json:"hostname"`
	FQDN      string   `json:"fqdn"`
	OSID      string   `json:"os_id"`
	OSVersion string   `json:"os_version"`
	Kernel    string   `json:"kernel"`
	Arch      string   `json:"arch"`
	CPUs      int      `json:"cpus"`
	MemoryMB  int      `json:"memory_mb"`
	Addresses []string `json:"addresses"`
	// DefaultIPv4 is the source address of the default route, "" without one.
	DefaultIPv4 string `json:"default_ipv4"`
	DefaultIf   string `json:"default_interface"`
	Init        string `json:"init"`
	MachineID   string `json:"machine_id"`
	// CanLowerOOMScore is false inside containers that lack CAP_SYS_RESOURCE, where runc
	// cannot lower oom_score_adj and containerd must be told not to try.
	CanLowerOOMScore bool `json:"can_lower_oom_score"`
	// Virtualization is what systemd-detect-virt says, "none" on bare metal.
	Virtualization string   `json:"virtualization"`
	User           string   `json:"user"`
	Swap           bool     `json:"swap_on"`
	Modules        []string `json:"kernel_modules"`
}

const script = `export LC_ALL=C
p() { printf '%s\t%s\n' "$1" "$2"; }
p hostname "$(hostname 2>/dev/null || cat /etc/hostname)"
p fqdn "$(hostname -f 2>/dev/null)"
if [ -r /etc/os-release ]; then . /etc/os-release; p os_id "$ID"; p os_version "$VERSION_ID"; fi
p kernel "$(uname -r)"
p arch "$(uname -m)"
p cpus "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
p memory_kb "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
ip -o -4 addr show scope global 2>/dev/null | awk '{split($4,a,"/"); print "address\t" a[1]}'
ip -o -4 route get 1.1.1.1 2>/dev/null | awk '{for(i=1;i<NF;i++){if($i=="src")print "default_ipv4\t" $(i+1); if($i=="dev")print "default_interface\t" $(i+1)}}'
[ -d /run/systemd/system ] && p init systemd || p init other
p machine_id "$(cat /etc/machine-id 2>/dev/null)"
p virtualization "$(systemd-detect-virt 2>/dev/null || echo none)"
p user "$(id -un)"
[ -n "$(awk 'NR>1' /proc/swaps 2>/dev/null)" ] && p swap_on 1 || p swap_on 0
awk '{print "module\t" $1}' /proc/modules 2>/dev/null
cur=$(cat /proc/self/oom_score_adj 2>/dev/null)
if sh -c 'echo -999 > /proc/self/oom_score_adj' 2>/dev/null; then p can_lower_oom 1; else p can_lower_oom 0; fi
p done 1
`

// Gather runs the fact script on the host. The route lookup asks the kernel which way a
// packet would go; it sends nothing.
func Gather(ctx context.Context, c connection.Conn) (*Facts, error) {
	res, err := c.Run(ctx, connection.Cmd{Command: "sh -s", Stdin: strings.NewReader(script)})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("gathering facts: exit %d: %s", res.ExitCode, bytes.TrimSpace(res.Stderr))
	}
	return parse(res.Stdout)
}

func parse(out []byte) (*Facts, error) {
	f := &Facts{}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		switch k {
		case "hostname":
			f.Hostname = v
		case "fqdn":
			f.FQDN = v
		case "os_id":
			f.OSID = v
		case "os_version":
			f.OSVersion = v
		case "kernel":
			f.Kernel = v
		case "arch":
			f.Arch = v
		case "cpus":
			f.CPUs, _ = strconv.Atoi(v)
		case "memory_kb":
			kb, _ := strconv.Atoi(v)
			f.MemoryMB = kb / 1024
		case "address":
			f.Addresses = append(f.Addresses, v)
		case "default_ipv4":
			f.DefaultIPv4 = v
		case "default_interface":
			f.DefaultIf = v
		case "init":
			f.Init = v
		case "machine_id":
			f.MachineID = v
		case "virtualization":
			f.Virtualization = v
		case "user":
			f.User = v
		case "swap_on":
			f.Swap = v == "1"
		case "module":
			f.Modules = append(f.Modules, v)
		case "can_lower_oom":
			f.CanLowerOOMScore = v == "1"
		case "done":
			done = true
		}
	}
	if !done {
		return nil, errors.New("gathering facts: the script's output was cut short")
	}
	return f, nil
}

// Cache keeps facts on disk, one file per host, in Dir.
type Cache struct {
	Dir string
	TTL time.Duration
}

type entry struct {
	Schema   int       `json:"schema"`
	Address  string    `json:"address"`
	Gathered time.Time `json:"gathered"`
	Facts    *Facts    `json:"facts"`
}

// Load returns the cached facts of host at address (where it is reached, with its port)
// and their age, or nil when there are none, they are older than the TTL, of another
// schema or for another address.
func (c *Cache) Load(host, address string) (*Facts, time.Duration) {
	b, err := os.ReadFile(c.path(host))
	if err != nil {
		return nil, 0
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || e.Schema != SchemaVersion || e.Address != address || e.Facts == nil {
		return nil, 0
	}
	age := time.Since(e.Gathered)
	if age < 0 || age > c.TTL {
		return nil, 0
	}
	return e.Facts, age
}

// Store writes host's facts atomically.
func (c *Cache) Store(host, address string, f *Facts) error {
	b, err := json.MarshalIndent(entry{Schema: SchemaVersion, Address: address, Gathered: time.Now(), Facts: f}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(c.path(host), b, 0o600)
}

// Flush removes every cached host.
func (c *Cache) Flush() error {
	matches, _ := filepath.Glob(filepath.Join(c.Dir, "*.json"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cache) path(host string) string { return filepath.Join(c.Dir, host+".json") }

// Value is the facts as expressions see them: `facts.os_id`, `facts.addresses`, ...
func (f *Facts) Value() (cty.Value, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return cty.NilVal, err
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(b, ty)
}
