"""The invoicing package shared by every Lambda (shipped as the SAM layer)."""
