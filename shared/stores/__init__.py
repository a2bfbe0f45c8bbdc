"""DynamoDB and S3 repositories. boto errors become our own exceptions here and go no further."""
