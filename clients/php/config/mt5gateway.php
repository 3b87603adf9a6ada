<?php

declare(strict_types=1);

// Published with: php artisan vendor:publish --tag=mt5gateway-config
// Every value reads .env, so most apps never need to publish this file.
return [
    // host:port of the gateway (or any gRPC target, e.g. dns:///gw.internal:50051).
    'target' => env('MT5GW_TARGET', '127.0.0.1:50051'),

    // TLS with the system roots, or MT5GW_CA_FILE; false = plaintext (sidecar, mesh, loopback).
    'tls' => env('MT5GW_TLS', false),
    'ca_file' => env('MT5GW_CA_FILE'),
    // Mutual TLS (both or neither).
    'client_cert_file' => env('MT5GW_CLIENT_CERT_FILE'),
    'client_key_file' => env('MT5GW_CLIENT_KEY_FILE'),

    // Sent as `x-api-key` metadata on every call.
    'api_key' => env('MT5GW_API_KEY'),

    // Default deadline of unary calls in milliseconds (streams have none); null = none.
    'deadline_ms' => env('MT5GW_DEADLINE_MS', 10000),

    // HTTP/2 keepalive pings; the gateway accepts one every 10 s or slower.
    'keepalive_time_ms' => env('MT5GW_KEEPALIVE_TIME_MS', 30000),
    'keepalive_timeout_ms' => env('MT5GW_KEEPALIVE_TIMEOUT_MS', 10000),

    // The MT5 server name sent in requests' `server` field by the example command;
    // empty = the gateway's default server.
    'server' => env('MT5GW_SERVER', ''),

    // Extra metadata on every call, e.g. ['x-tenant' => 'crm-eu'].
    'metadata' => [],

    // Extra grpc.* channel arguments, e.g. ['grpc.lb_policy_name' => 'round_robin'].
    'channel_options' => [],
];
