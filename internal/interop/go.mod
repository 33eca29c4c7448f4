module github.com/framesock/framesock/internal/interop

go 1.25.0

replace github.com/framesock/framesock => ../..

require (
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/framesock/framesock v0.0.0-00010101000000-000000000000
	github.com/google/go-cmp v0.7.0
	github.com/jackc/pgx/v5 v5.13.0
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.50.0
)

require golang.org/x/text v0.41.0 // indirect
