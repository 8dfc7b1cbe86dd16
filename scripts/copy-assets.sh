#!/usr/bin/env bash
# Copies the front-end libraries installed by npm (package.json) into the package's static files.
set -euo pipefail
vendor=src/shulian/web/static/vendor
rm -rf "$vendor"
mkdir -p "$vendor/swagger-ui"
cp node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx.min.js"
for f in swagger-ui-bundle.js swagger-ui.css; do
  cp "node_modules/swagger-ui-dist/$f" "$vendor/swagger-ui/$f"
done
cp node_modules/swagger-ui-dist/LICENSE "$vendor/swagger-ui/LICENSE"
# Barcode reading for the scan page (camera): the self-contained UMD bundle, global ZXingBrowser.
mkdir -p "$vendor/zxing"
cp node_modules/@zxing/browser/umd/zxing-browser.min.js "$vendor/zxing/zxing-browser.min.js"
cp node_modules/@zxing/browser/LICENSE "$vendor/zxing/LICENSE"
echo "front-end assets copied to $vendor"
