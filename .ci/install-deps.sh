#!/usr/bin/env bash
# Installs the Debian packages the tests need: real servers and reference tools.
# Idempotent; runs as root (CI) and exits quietly when everything is already there.
set -euo pipefail
PKGS=(oathtool proftpd-core proftpd-mod-crypto proftpd-mod-sqlite sqlite3 openssl
      openssh-client openssh-sftp-server tmux dbus dbus-x11 gnome-keyring libsecret-tools
      lftp curl rclone qrencode
      # Stock OpenSSH sshd with PAM keyboard-interactive TOTP (test/servers/sshd.ts).
      openssh-server libpam-google-authenticator
      # systemd-analyze verify checks the units `schedule install --systemd` writes.
      systemd
      # vsftpd's libraries; vsftpd itself conflicts with proftpd-core, so it is unpacked below.
      libwrap0 libcap2 libpam0g libpam-modules libssl3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: missing ${missing[*]}; run it as root (root shell, container, CI; or sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Keep packaged daemons (proftpd on :21) from starting: tests start their own on loopback.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# vsftpd (test/servers/vsftpd.ts): its package conflicts with proftpd-core in dpkg, so the .deb is
# downloaded and unpacked (not installed) into a cache dir the tests run the binary from.
VSFTPD_DIR=/opt/otpbackup-test/vsftpd
if [ ! -x "$VSFTPD_DIR/usr/sbin/vsftpd" ]; then
  export DEBIAN_FRONTEND=noninteractive
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  # _apt must be able to write the download dir.
  chmod 777 "$dl"
  if ! (cd "$dl" && apt-get download -qq vsftpd >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$dl" && apt-get download -qq vsftpd >/dev/null)
  fi
  mkdir -p "$VSFTPD_DIR.new"
  dpkg-deb -x "$dl"/vsftpd_*.deb "$VSFTPD_DIR.new"
  rm -rf "$VSFTPD_DIR" && mv "$VSFTPD_DIR.new" "$VSFTPD_DIR"
fi
