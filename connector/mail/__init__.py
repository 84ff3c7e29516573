"""The pure mail core: parsing and the mail-to-ticket pipeline. No I/O, no Google, no SQL."""
