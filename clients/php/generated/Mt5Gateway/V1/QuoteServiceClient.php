<?php
// GENERATED CODE -- DO NOT EDIT!

namespace Mt5Gateway\V1;

/**
 * Prices: last ticks, tick statistics, tick history, M1 bars and the live quote stream (MT5
 * `/api/tick/*`, `/api/chart/get`).
 */
class QuoteServiceClient extends \Grpc\BaseStub {

    /**
     * @param string $hostname hostname
     * @param array $opts channel options
     * @param \Grpc\Channel $channel (optional) re-use channel object
     */
    public function __construct($hostname, $opts, $channel = null) {
        parent::__construct($hostname, $opts, $channel);
    }

    /**
     * Returns the latest tick of each matching symbol, paginated (`tick/last`).
     * @param \Mt5Gateway\V1\ListQuotesRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListQuotes(\Mt5Gateway\V1\ListQuotesRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.QuoteService/ListQuotes',
        $argument,
        ['\Mt5Gateway\V1\ListQuotesResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the latest ticks as a group sees them (spread, markups), paginated
     * (`tick/last_group`).
     * @param \Mt5Gateway\V1\ListGroupQuotesRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListGroupQuotes(\Mt5Gateway\V1\ListGroupQuotesRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.QuoteService/ListGroupQuotes',
        $argument,
        ['\Mt5Gateway\V1\ListGroupQuotesResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the session statistics of each matching symbol, paginated (`tick/stat`).
     * @param \Mt5Gateway\V1\ListQuoteStatsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListQuoteStats(\Mt5Gateway\V1\ListQuoteStatsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.QuoteService/ListQuoteStats',
        $argument,
        ['\Mt5Gateway\V1\ListQuoteStatsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the ticks of one symbol in a time range, oldest first, paginated
     * (`tick/history`; MT5's 16 MB chunks are hidden).
     * @param \Mt5Gateway\V1\ListTickHistoryRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListTickHistory(\Mt5Gateway\V1\ListTickHistoryRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.QuoteService/ListTickHistory',
        $argument,
        ['\Mt5Gateway\V1\ListTickHistoryResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the M1 bars of one symbol in a time range, oldest first, paginated
     * (`chart/get`).
     * @param \Mt5Gateway\V1\ListBarsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListBars(\Mt5Gateway\V1\ListBarsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.QuoteService/ListBars',
        $argument,
        ['\Mt5Gateway\V1\ListBarsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Streams live quotes: first a snapshot of the matching symbols, then every change,
     * conflated per symbol (latest wins) for slow readers. Heartbeats keep idle streams open
     * and say when MT5 is unreachable (`Heartbeat.upstream_outage_start_time`). Names and
     * masks that match no symbol fail with NOT_FOUND (MT5_NOT_FOUND), as an unknown plain
     * name does: the request is well formed, the server has no such symbol. On gateway
     * shutdown the stream ends with UNAVAILABLE and RetryInfo, and the client reopens it;
     * UNAVAILABLE (with RetryInfo) always means "reopen". Reviewed exception to unary-only
     * (buf.yaml).
     * @param \Mt5Gateway\V1\StreamQuotesRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\ServerStreamingCall
     */
    public function StreamQuotes(\Mt5Gateway\V1\StreamQuotesRequest $argument,
      $metadata = [], $options = []) {
        return $this->_serverStreamRequest('/mt5gateway.v1.QuoteService/StreamQuotes',
        $argument,
        ['\Mt5Gateway\V1\StreamQuotesResponse', 'decode'],
        $metadata, $options);
    }

}
