#!/bin/sh
# Entry point of the sip-platform image: runs one service of the workspace, named by the first
# argument or by $SERVICE (default: platform, every service in one process).
#   docker run sip-platform registrar        docker run -e SERVICE=registrar sip-platform
# Further arguments go to the service. `exec` replaces this shell with node, so the SIGTERM of
# `docker stop` / Kubernetes reaches the service's own handler, which closes it cleanly.
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
if [ "$#" -gt 0 ]; then
  service="$1"
  shift
else
  service="${SERVICE:-platform}"
fi
case "$service" in
  platform | edge-proxy | registrar | location | redirect | admin-api | demo-server) ;;
  *)
    echo "sip-platform: unknown service '$service'; expected one of: platform, edge-proxy, registrar, location, redirect, admin-api, demo-server" >&2
    exit 64
    ;;
esac
exec node "$root/services/$service/dist/main.js" "$@"
