#!/usr/bin/env bash
# The steps of the composite GitHub Action (action.yml), kept here so that they can be run and
# tested outside GitHub.
#
#   scripts/action.sh install   puts the release binary INPUT_VERSION on PATH (GITHUB_PATH)
#   scripts/action.sh run       runs `rollback … --json`, writes the outputs outcome, exit-code
#                               and result to GITHUB_OUTPUT, and fails with the reason
#
# Inputs come as INPUT_* variables (action.yml sets them): PLATFORM (sf-app, sf-cluster,
# cloudsvc, arcgis), TARGET (what the result's `target` names: the application, the cluster
# endpoint, SERVICE/SLOT or SERVICE/DEPLOYMENT, the ArcGIS URL), COMMAND (start or status), ARGS
# (more arguments, split on whitespace and newlines), BINARY (a rollback binary to use), VERSION
# and RELEASES_URL (where releases are, default the action's repository's GitHub releases).
set -euo pipefail

fail() {
	# A workflow command: %, CR and LF are escaped as GitHub reads them.
	local message=$1
	message=${message//'%'/'%25'}
	message=${message//$'\r'/'%0D'}
	message=${message//$'\n'/'%0A'}
	echo "::error title=rollback::$message"
}

install() {
	local version=${INPUT_VERSION#v} target archive dir releases proto='=https'
	case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
	Linux/X64) target=x86_64-unknown-linux-musl ;;
	Linux/ARM64) target=aarch64-unknown-linux-musl ;;
	macOS/X64) target=x86_64-apple-darwin ;;
	macOS/ARM64) target=aarch64-apple-darwin ;;
	Windows/X64) target=x86_64-pc-windows-msvc ;;
	*) fail "no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: build one and give it as binary"; exit 2 ;;
	esac
	releases=${INPUT_RELEASES_URL:-}
	if [ -z "$releases" ]; then
		[ -n "${ACTION_REPOSITORY:-}" ] || { fail "version needs the action's repository (uses: OWNER/REPO@REF) or releases-url"; exit 2; }
		releases="https://github.com/$ACTION_REPOSITORY/releases/download"
	fi
	# Plain http only to this machine (a mirror under test); anywhere else, https.
	case "$releases" in http://127.0.0.1:* | http://localhost:*) proto='=http' ;; esac
	archive="rollback-v$version-$target.tar.gz"
	dir=${RUNNER_TEMP:-/tmp}/rollback-v$version
	mkdir -p "$dir"
	for file in "$archive" SHA256SUMS; do
		curl --fail --silent --show-error --location --proto "$proto" -o "$dir/$file" "$releases/v$version/$file" ||
			{ fail "cannot download $releases/v$version/$file"; exit 1; }
	done
	(
		cd "$dir"
		grep " $archive\$" SHA256SUMS >expected || { fail "SHA256SUMS of v$version lists no $archive"; exit 1; }
		if command -v sha256sum >/dev/null; then sha256sum -c expected; else shasum -a 256 -c expected; fi ||
			{ fail "$archive does not match its SHA-256 in SHA256SUMS: not installed"; exit 1; }
		tar -xzf "$archive"
	)
	echo "$dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
}

run() {
	local bin=${INPUT_BINARY:-rollback} command=${INPUT_COMMAND:-start} target=${INPUT_TARGET:-}
	local -a extra=() argv=()
	# Every line of the input (a YAML block may span several); `read -d ''` stops at the end.
	read -r -d '' -a extra <<<"${INPUT_ARGS:-}" || true
	case "${INPUT_PLATFORM:-}" in
	sf-app)
		[ -n "$target" ] || { fail "target: the application (myapp~app1 or fabric:/myapp/app1) is required"; exit 2; }
		argv=(sf app "$command" "$target") ;;
	sf-cluster)
		argv=(sf)
		[ -z "$target" ] || argv+=(--endpoint "$target")
		argv+=(cluster "$command") ;;
	cloudsvc)
		argv=(cloudsvc)
		case "$target" in
		"") ;;
		*/production | */staging) argv+=(--service "${target%%/*}" --slot "${target#*/}") ;;
		*/*) argv+=(--service "${target%%/*}" --deployment "${target#*/}") ;;
		*) fail "target: SERVICE/SLOT or SERVICE/DEPLOYMENT, not $target"; exit 2 ;;
		esac
		argv+=("$command") ;;
	arcgis)
		argv=(arcgis)
		[ -z "$target" ] || argv+=(--url "$target")
		argv+=("$command")
		# The newest patch unless the arguments choose another.
		if [ "$command" = start ] && [[ " ${extra[*]-} " != *" --to "* ]]; then argv+=(--to previous); fi ;;
	*)
		fail "platform: one of sf-app, sf-cluster, cloudsvc, arcgis, not '${INPUT_PLATFORM:-}'"
		exit 2 ;;
	esac
	local out err code
	out=$(mktemp)
	err=$(mktemp)
	# stdout (the document) into a file; stderr (progress, then the reason) on to the log as it
	# comes, and into a file.
	set +e
	"$bin" "${argv[@]}" ${extra[@]+"${extra[@]}"} --yes --json 2>&1 >"$out" | tee "$err" >&2
	code=${PIPESTATUS[0]}
	set -e
	# The document is pretty-printed; a JSON string holds no raw newline, so joining the lines
	# keeps it valid and makes it one output line.
	local result outcome
	result=$(tr -d '\n' <"$out")
	outcome=$(grep -o '"outcome": *"[a-z_]*"' <<<"$result" | head -n 1 | sed 's/.*"\([a-z_]*\)"$/\1/' || true)
	{
		echo "outcome=${outcome:-none}"
		echo "exit-code=$code"
		local eof="ROLLBACK_RESULT_$RANDOM$RANDOM"
		echo "result<<$eof"
		echo "${result:-null}"
		echo "$eof"
	} >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
	if [ "$code" -ne 0 ]; then
		local reason
		reason=$(grep '^error: ' "$err" | tail -n 1 | sed 's/^error: //' || true)
		fail "${reason:-rollback exited $code} (outcome ${outcome:-none}, exit code $code)"
	fi
	rm -f "$out" "$err"
	exit "$code"
}

case "${1:-}" in
install) install ;;
run) run ;;
*) echo "usage: $0 install|run" >&2; exit 2 ;;
esac
