#!/usr/bin/env bash
# A small network lab in Linux network namespaces, for testing LAN discovery and the
# connection doctor without sending one datagram on this machine's real networks.
#
#   bash scripts/lab.sh up PREFIX          build the lab (torn down again if building fails)
#   bash scripts/lab.sh down PREFIX        tear it down (safe to run again)
#   bash scripts/lab.sh run PREFIX CMD...  build, run CMD, and always tear down (trap)
#
# Needs root, iproute2 and nftables (scripts/setup.sh installs them). Everything lives in
# namespaces named PREFIX-*: nothing is added to the root namespace, not even for a moment
# (each veth pair is made inside the switch namespace with its peer in the computer's).
#
#   PREFIX-a  10.66.1.1/24   "computer A": hosts rooms
#   PREFIX-b  10.66.1.2/24   "computer B": looks for rooms, connects
#   PREFIX-c  10.66.1.3/24   "computer C": hosts behind a firewall that drops TCP port 5050
#   PREFIX-r  10.66.1.254/24 and 10.66.2.254/24: a router between the two LANs
#   PREFIX-d  10.66.2.1/24   "computer D": on the other LAN, behind the router
#   PREFIX-sw the switch: bridges br1 (LAN 10.66.1.0/24) and br2 (LAN 10.66.2.0/24)
#
# B and D reach each other's LAN through the router (B has a route to 10.66.2.0/24 and no
# default route, so 10.99.0.0/16 has no route from B at all).
set -euo pipefail

usage() {
  sed -n '2,9p' "$0" >&2
  exit 2
}

[ $# -ge 2 ] || usage
action=$1
prefix=$2
shift 2
[[ $prefix =~ ^[a-z0-9]{1,12}$ ]] || { echo "PREFIX: 1-12 lowercase letters or digits" >&2; exit 2; }

computers=(a b c r d)

down() {
  local ns
  for ns in "${computers[@]}" sw; do
    ip netns del "$prefix-$ns" 2>/dev/null || true
  done
}

# plug NS IFNAME-IN-SWITCH BRIDGE ADDRESS/PREFIX [DEVICE-IN-NS]
plug() {
  local ns=$1 port=$2 bridge=$3 address=$4 device=${5:-eth0}
  ip -n "$prefix-sw" link add "$port" type veth peer name "$device" netns "$prefix-$ns"
  ip -n "$prefix-sw" link set "$port" master "$bridge" up
  ip -n "$prefix-$ns" addr add "$address" brd + dev "$device"
  ip -n "$prefix-$ns" link set "$device" up
}

up() {
  trap 'echo "lab: building failed, tearing down" >&2; down' ERR
  down
  local ns
  for ns in sw "${computers[@]}"; do
    ip netns add "$prefix-$ns"
    ip -n "$prefix-$ns" link set lo up
  done
  for bridge in br1 br2; do
    ip -n "$prefix-sw" link add "$bridge" type bridge forward_delay 0 stp_state 0
    ip -n "$prefix-sw" link set "$bridge" up
  done
  plug a pa br1 10.66.1.1/24
  plug b pb br1 10.66.1.2/24
  plug c pc br1 10.66.1.3/24
  plug r pr1 br1 10.66.1.254/24 eth0
  plug r pr2 br2 10.66.2.254/24 eth1
  plug d pd br2 10.66.2.1/24
  ip netns exec "$prefix-r" sysctl -qw net.ipv4.ip_forward=1
  for ns in a b c; do
    ip -n "$prefix-$ns" route add 10.66.2.0/24 via 10.66.1.254
  done
  ip -n "$prefix-d" route add 10.66.1.0/24 via 10.66.2.254
  # C's firewall drops the chat port from the network, as a default-deny desktop firewall
  # does (loopback stays open, as it does there).
  ip netns exec "$prefix-c" nft -f - <<'NFT'
table inet lab {
  chain input {
    type filter hook input priority 0; policy accept;
    iif != "lo" tcp dport 5050 drop
  }
}
NFT
  trap - ERR
}

case $action in
  up) up ;;
  down) down ;;
  run)
    [ $# -ge 1 ] || usage
    trap down EXIT INT TERM
    up
    "$@"
    ;;
  *) usage ;;
esac
