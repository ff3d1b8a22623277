package funcs

import (
	"fmt"
	"math/big"
	"net"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/gocty"
)

var cidrHostFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		var num int64
		if err := gocty.FromCtyValue(args[1], &num); err != nil {
			return cty.UnknownVal(cty.String), err
		}
		ip, err := cidrHost(args[0].AsString(), num)
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		return cty.StringVal(ip.String()), nil
	},
})

var cidrSubnetFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "prefix", Type: cty.String}, {Name: "newbits", Type: cty.Number}, {Name: "netnum", Type: cty.Number},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		var newbits int
		var netnum int64
		if err := gocty.FromCtyValue(args[1], &newbits); err != nil {
			return cty.UnknownVal(cty.String), err
		}
		if err := gocty.FromCtyValue(args[2], &netnum); err != nil {
			return cty.UnknownVal(cty.String), err
		}
		s, err := cidrSubnet(args[0].AsString(), newbits, netnum)
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		return cty.StringVal(s), nil
	},
})

var cidrNetmaskFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		_, n, err := net.ParseCIDR(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		return cty.StringVal(net.IP(n.Mask).String()), nil
	},
})

// cidrHost returns host number num of prefix; a negative num counts from the end.
func cidrHost(prefix string, num int64) (net.IP, error) {
	_, n, err := net.ParseCIDR(prefix)
	if err != nil {
		return nil, err
	}
	ones, bits := n.Mask.Size()
	size := new(big.Int).Lsh(big.NewInt(1), uint(bits-ones))
	k := big.NewInt(num)
	if num < 0 {
		k.Add(k, size)
	}
	if k.Sign() < 0 || k.Cmp(size) >= 0 {
		return nil, fmt.Errorf("prefix %s has no host number %d", prefix, num)
	}
	return addToIP(n.IP, k, bits), nil
}

func cidrSubnet(prefix string, newbits int, netnum int64) (string, error) {
	_, n, err := net.ParseCIDR(prefix)
	if err != nil {
		return "", err
	}
	ones, bits := n.Mask.Size()
	if newbits < 0 || ones+newbits > bits {
		return "", fmt.Errorf("cannot extend prefix %s by %d bits", prefix, newbits)
	}
	if netnum < 0 || netnum >= int64(1)<<newbits {
		return "", fmt.Errorf("prefix %s has no subnet %d of %d more bits", prefix, netnum, newbits)
	}
	k := new(big.Int).Lsh(big.NewInt(netnum), uint(bits-ones-newbits))
	ip := addToIP(n.IP, k, bits)
	return fmt.Sprintf("%s/%d", ip, ones+newbits), nil
}

func addToIP(base net.IP, k *big.Int, bits int) net.IP {
	if bits == 32 {
		base = base.To4()
	}
	v := new(big.Int).SetBytes(base)
	v.Add(v, k)
	out := v.FillBytes(make([]byte, len(base)))
	return net.IP(out)
}

// cidrContainsFunc tells whether an address or a whole prefix lies inside a prefix, so a
// preflight check can refuse overlapping service, pod and node networks.
var cidrContainsFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "addr_or_prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		_, outer, err := net.ParseCIDR(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.Bool), err
		}
		s := args[1].AsString()
		if ip := net.ParseIP(s); ip != nil {
			return cty.BoolVal(outer.Contains(ip)), nil
		}
		_, inner, err := net.ParseCIDR(s)
		if err != nil {
			return cty.UnknownVal(cty.Bool), fmt.Errorf("%q is neither an address nor a prefix", s)
		}
		outerOnes, _ := outer.Mask.Size()
		innerOnes, _ := inner.Mask.Size()
		return cty.BoolVal(outer.Contains(inner.IP) && innerOnes >= outerOnes), nil
	},
})
