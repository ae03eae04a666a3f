module github.com/acme/infra/lib

go 1.22
