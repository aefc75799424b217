"""Wire protocols: SigV4, the AWS query and rest-json codecs built from botocore's models, the SMTP session."""
