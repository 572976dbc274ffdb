#!/usr/bin/env bash
# `make image-test`, part zero: the deployment files checked by the tools that will read them,
# each where it is installed (.ci/run installs them): nginx -t on deploy/nginx.conf and
# haproxy -c on deploy/haproxy.cfg with a throwaway certificate, caddy validate on
# deploy/Caddyfile, systemd-analyze verify on deploy/systemd/*.service (ExecStart pointed at
# this machine's python3, as /opt/signaldesk does not exist here), docker-compose config on
# compose.yaml.
# Nothing is started. Exits non-zero on the first file a tool rejects.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
say() { echo "image-test: $*"; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

if have nginx; then
    mkdir -p "$scratch/nginx/logs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bot.example.com \
        -keyout "$scratch/nginx/key.pem" -out "$scratch/nginx/cert.pem" 2>/dev/null
    sed -e "s#/etc/letsencrypt/live/bot.example.com/fullchain.pem#$scratch/nginx/cert.pem#" \
        -e "s#/etc/letsencrypt/live/bot.example.com/privkey.pem#$scratch/nginx/key.pem#" \
        deploy/nginx.conf >"$scratch/nginx/signaldesk.conf"
    cat >"$scratch/nginx/nginx.conf" <<CONF
pid $scratch/nginx/nginx.pid;
error_log $scratch/nginx/logs/error.log;
events {}
http {
    access_log off;
    include $scratch/nginx/signaldesk.conf;
}
CONF
    PATH="$PATH:/usr/sbin" nginx -q -t -p "$scratch/nginx" -c "$scratch/nginx/nginx.conf"
    say "ok   deploy/nginx.conf (nginx -t)"
else
    say "SKIP deploy/nginx.conf: nginx is not installed"
fi

if have haproxy; then
    mkdir -p "$scratch/haproxy"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bot.example.com \
        -keyout "$scratch/haproxy/key.pem" -out "$scratch/haproxy/cert.pem" 2>/dev/null
    cat "$scratch/haproxy/cert.pem" "$scratch/haproxy/key.pem" >"$scratch/haproxy/bot.pem"
    sed "s#/etc/haproxy/bot.pem#$scratch/haproxy/bot.pem#" deploy/haproxy.cfg \
        >"$scratch/haproxy/haproxy.cfg"
    PATH="$PATH:/usr/sbin" haproxy -c -f "$scratch/haproxy/haproxy.cfg" >"$scratch/haproxy.log" 2>&1 \
        || { cat "$scratch/haproxy.log"; exit 1; }
    say "ok   deploy/haproxy.cfg (haproxy -c)"
else
    say "SKIP deploy/haproxy.cfg: haproxy is not installed"
fi

if have caddy; then
    HOME="$scratch" XDG_DATA_HOME="$scratch" XDG_CONFIG_HOME="$scratch" \
        SIGNALDESK_DOMAIN=bot.example.com \
        caddy validate --config deploy/Caddyfile --adapter caddyfile >"$scratch/caddy.log" 2>&1 \
        || { cat "$scratch/caddy.log"; exit 1; }
    say "ok   deploy/Caddyfile (caddy validate)"
else
    say "SKIP deploy/Caddyfile: caddy is not installed"
fi

if have systemd-analyze; then
    mkdir -p "$scratch/units"
    for unit in deploy/systemd/*.service; do
        sed "s#/opt/signaldesk/.venv/bin/python#$(command -v python3)#" "$unit" \
            >"$scratch/units/$(basename "$unit")"
    done
    # Any complaint fails the check, not only the ones that change the exit status.
    (cd "$scratch/units" && systemd-analyze verify ./*.service) >"$scratch/verify.log" 2>&1 \
        || { cat "$scratch/verify.log"; exit 1; }
    if grep -v "Failed to parse system call" "$scratch/verify.log" | grep -q .; then
        cat "$scratch/verify.log"; exit 1
    fi
    say "ok   deploy/systemd/*.service (systemd-analyze verify)"
else
    say "SKIP deploy/systemd: systemd-analyze is not installed"
fi

if have docker-compose; then
    mkdir -p "$scratch/compose"
    cp compose.yaml "$scratch/compose/"
    printf 'BOT_TOKEN=1:x\nPOSTGRES_PASSWORD=pw\nSIGNALDESK_DOMAIN=bot.example.com\n' \
        >"$scratch/compose/.env"
    (cd "$scratch/compose" && docker-compose --profile tls config --quiet)
    say "ok   compose.yaml (docker-compose config)"
else
    say "SKIP compose.yaml: docker-compose is not installed"
fi
cd "$repo"
