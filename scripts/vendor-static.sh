#!/usr/bin/env bash
# Browser libraries that come from npm (ECharts for the cockpit's charts): installed at install time from the
# locked package.json in aftersales/analytics/vendor and copied into the app's static files (never committed,
# never loaded from a CDN). Run by `make install`; safe to run again.
#
# Also the CJK font every PDF embeds (aftersales/common/pdf.py): Noto Sans CJK SC from Debian's fonts-noto-cjk
# (SIL OFL 1.1), converted to TrueType outlines by scripts/cjk-font.py into aftersales/common/fonts/ (never committed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${AFTERSALES_PYTHON:-$root/.venv/bin/python}"
if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 \
  && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's fonts-noto-cjk for the PDF documents..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null || true
fi
"$python" "$root/scripts/cjk-font.py"

cd "$root/aftersales/analytics/vendor"
target=../static/analytics/vendor
if [ -f "$target/echarts.min.js" ] && [ "$target/echarts.min.js" -nt package-lock.json ]; then exit 0; fi
npm ci --no-audit --no-fund --omit=dev --silent
mkdir -p "$target"
cp node_modules/echarts/dist/echarts.min.js "$target/echarts.min.js"
cp node_modules/echarts/LICENSE "$target/echarts.LICENSE.txt"
