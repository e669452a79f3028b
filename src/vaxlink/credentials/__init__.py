"""Certificate payloads, signing, encoding, QR and barcodes, verification, revocation."""
