#!/usr/bin/env bash
# Installs the published third-party 1cloud clients that the contract tests (tests/contract/)
# drive against `ict emulator`, pinned, into their own Python virtual environment:
#   ${ICT_CONTRACT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ict/contract-venv}
# Idempotent: a venv that already holds exactly these pins is left alone (no network).
# See docs/contract-tests.md.
set -euo pipefail

venv="${ICT_CONTRACT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ict/contract-venv}"

# The two clients and everything they pull in, pinned (`pip freeze` of a working venv): the
# certbot/acme of the 1.x line certbot-dns-onecloud 0.1.0 was written for (its Authenticator
# uses the zope interfaces certbot 2.0 removed), with the pyOpenSSL, cryptography and josepy
# that certbot 1.32 still imports (newer ones dropped `crypto.X509Req`), and a setuptools that
# still has the `pkg_resources` it imports (venvs of Python 3.12+ come without setuptools).
pins="onecloud==1.0.3
certbot-dns-onecloud==0.1.0
acme==1.32.0
certbot==1.32.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
ConfigArgParse==1.9.0
configobj==5.0.9
cryptography==39.0.2
distro==1.9.0
idna==3.21
josepy==1.13.0
parsedatetime==2.6
pycparser==3.12
pyOpenSSL==23.0.0
pyRFC3339==2.1.1
pytz==2026.6
requests==2.34.2
requests-toolbelt==1.0.0
setuptools==70.3.0
typing_extensions==4.16.0
urllib3==2.8.0
zope.component==7.1
zope.event==6.2
zope.hookable==8.4
zope.interface==8.7"

stamp="$venv/ict-contract-clients.txt"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pins" ]; then
  echo "contract clients already installed in $venv"
  exit 0
fi

# Debian's python3 needs python3-venv for `-m venv` (ensurepip).
if ! python3 -c 'import ensurepip' 2>/dev/null && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi

# Anything else there (older pins, a half-done install) is started afresh.
python3 -m venv --clear "$venv"
# shellcheck disable=SC2086 # one requirement a word
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
printf '%s' "$pins" > "$stamp"
echo "contract clients installed in $venv"
