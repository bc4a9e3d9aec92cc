module github.com/roster-dev/roster

go 1.26.0

require golang.org/x/text v0.43.0
