#!/bin/sh
# One HTTP/1.1 exchange on stdin/stdout, run per connection by busybox `nc -ll -e` (see edge.ts).
read -r method path version
key=''
headers=''
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  headers="$headers$line
"
  case "$line" in
    [Ss]ec-[Ww]eb[Ss]ocket-[Kk]ey:*) key=$(printf '%s' "${line#*:}" | tr -d ' ') ;;
  esac
done
case "$path" in
  /headers)
    printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "${#headers}" "$headers"
    ;;
  /stream)
    printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
    printf '6\r\nfirst\n\r\n'
    while [ ! -f /tmp/go ]; do sleep 0.1; done
    printf '7\r\nsecond\n\r\n0\r\n\r\n'
    ;;
  /ws)
    accept=$(printf '%s' "${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11" | sha1sum | cut -d' ' -f1 | xxd -r -p | base64)
    printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n' "$accept"
    # Echo one masked text frame (payload < 126 bytes) back as "echo:<payload>".
    set -- $(dd bs=1 count=2 2>/dev/null | od -An -tu1)
    len=$(( $2 & 127 ))
    set -- $(dd bs=1 count=$((4 + len)) 2>/dev/null | od -An -tu1 -v)
    m0=$1 m1=$2 m2=$3 m3=$4
    shift 4
    out='' i=0
    for b in "$@"; do
      case $((i % 4)) in 0) m=$m0 ;; 1) m=$m1 ;; 2) m=$m2 ;; *) m=$m3 ;; esac
      out="$out\\$(printf '%03o' $((b ^ m)))"
      i=$((i + 1))
    done
    printf "\\201\\$(printf '%03o' $((5 + len)))echo:$out"
    cat >/dev/null
    ;;
  *)
    printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream'
    ;;
esac
