<?php
// GENERATED CODE -- DO NOT EDIT!

namespace Mt5Gateway\V1;

/**
 * The MT5 servers themselves: time, common configuration, and the gateway's pool status
 * (MT5 `/api/time/*`, `/api/common/get`).
 */
class ServerServiceClient extends \Grpc\BaseStub {

    /**
     * @param string $hostname hostname
     * @param array $opts channel options
     * @param \Grpc\Channel $channel (optional) re-use channel object
     */
    public function __construct($hostname, $opts, $channel = null) {
        parent::__construct($hostname, $opts, $channel);
    }

    /**
     * Returns the MT5 server's current time and time settings (`time/server`, `time/get`).
     * @param \Mt5Gateway\V1\GetServerTimeRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetServerTime(\Mt5Gateway\V1\GetServerTimeRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ServerService/GetServerTime',
        $argument,
        ['\Mt5Gateway\V1\GetServerTimeResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the MT5 server's common configuration (`common/get`).
     * @param \Mt5Gateway\V1\GetCommonConfigRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetCommonConfig(\Mt5Gateway\V1\GetCommonConfigRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ServerService/GetCommonConfig',
        $argument,
        ['\Mt5Gateway\V1\GetCommonConfigResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the gateway's status of one configured MT5 server (no MT5 call).
     * @param \Mt5Gateway\V1\GetServerStatusRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetServerStatus(\Mt5Gateway\V1\GetServerStatusRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ServerService/GetServerStatus',
        $argument,
        ['\Mt5Gateway\V1\GetServerStatusResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the status of every configured MT5 server, paginated (no MT5 call).
     * @param \Mt5Gateway\V1\ListServersRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListServers(\Mt5Gateway\V1\ListServersRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ServerService/ListServers',
        $argument,
        ['\Mt5Gateway\V1\ListServersResponse', 'decode'],
        $metadata, $options);
    }

}
