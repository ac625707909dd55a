#!/bin/bash
# Runs as root before cced starts (ExecStartPre=+ in cced.service).
# Copies the TLS files into /etc/cced/certs, readable by cced only, and makes
# sure the state directory exists with tight permissions.
set -euo pipefail

# Where the host's certificates live; the reference shares AdmServ's.
# Do not set it with Environment= in the unit: the daemon sees that too and
# refuses unknown CCED_* variables. Pass it to this script alone instead:
#   ExecStartPre=+/usr/bin/env CCED_CERT_SOURCE=/path /usr/lib/cced/cced-pre.sh
src=${CCED_CERT_SOURCE:-/etc/admserv/certs}
certs=/etc/cced/certs
state=/var/lib/cced

install -d -m 0750 -o root -g cced "$certs"

# Copy whichever of the three files exist; a plain-HTTP setup has none.
for f in certificate key ca-certs; do
  if [[ -f "$src/$f" ]]; then
    install -m 0600 -o cced -g cced "$src/$f" "$certs/$f"
  fi
done

# StateDirectory= creates it too; this keeps the script usable without systemd.
install -d -m 0700 -o cced -g cced "$state"
