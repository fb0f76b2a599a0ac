#!/usr/bin/env bash
# Makes sure the Debian packages this project runs on are installed: DCMTK (the DICOM tools every
# node runs), Orthanc with its DICOMweb plugin (the local PACS of the demo and the tests), GDCM's tools
# (JPEG 2000 test files, gdcmanon), dicom3tools (dciodvfy judges the files written), pydicom's test and
# character-set files (de-identification tests), Redis and HAProxy (several Node-RED instances), with
# --with-browser Chromium (the editor test), with --with-bench GNU time (the benchmarks' CPU figures).
# As root it installs what is missing; otherwise it prints the command and fails.
set -euo pipefail

packages=(dcmtk orthanc orthanc-dicomweb openssl libgdcm-tools dicom3tools python3-pydicom redis-server haproxy)
[[ "${1:-}" == "--with-browser" ]] && packages+=(chromium)
[[ "${1:-}" == "--with-bench" ]] && packages+=(time)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  echo "Installing ${missing[*]} with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages: ${missing[*]}. Install them, then run this again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
