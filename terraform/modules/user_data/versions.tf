terraform {
  # Templates only: no provider, so the rehearsal renders it offline.
  required_version = ">= 1.7"
}
