"""Infrastructure helpers: building local/test AWS resources from ``template.yaml``."""
