<?php
// GENERATED CODE -- DO NOT EDIT!

namespace Mt5Gateway\V1;

/**
 * Symbol and group configuration, read only (MT5 `/api/symbol/*`, `/api/group/*`).
 */
class ConfigServiceClient extends \Grpc\BaseStub {

    /**
     * @param string $hostname hostname
     * @param array $opts channel options
     * @param \Grpc\Channel $channel (optional) re-use channel object
     */
    public function __construct($hostname, $opts, $channel = null) {
        parent::__construct($hostname, $opts, $channel);
    }

    /**
     * Returns the names of the symbols visible to the gateway, paginated (`symbol/list`).
     * @param \Mt5Gateway\V1\ListSymbolNamesRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListSymbolNames(\Mt5Gateway\V1\ListSymbolNamesRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/ListSymbolNames',
        $argument,
        ['\Mt5Gateway\V1\ListSymbolNamesResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns symbol configurations matching masks, paginated (`symbol/get` with `mask`,
     * `symbol/total`, `symbol/next`).
     * @param \Mt5Gateway\V1\ListSymbolsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListSymbols(\Mt5Gateway\V1\ListSymbolsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/ListSymbols',
        $argument,
        ['\Mt5Gateway\V1\ListSymbolsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one symbol by name (`symbol/get`).
     * @param \Mt5Gateway\V1\GetSymbolRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetSymbol(\Mt5Gateway\V1\GetSymbolRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/GetSymbol',
        $argument,
        ['\Mt5Gateway\V1\GetSymbolResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns symbols by exact names (`symbol/get`).
     * @param \Mt5Gateway\V1\BatchGetSymbolsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetSymbols(\Mt5Gateway\V1\BatchGetSymbolsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/BatchGetSymbols',
        $argument,
        ['\Mt5Gateway\V1\BatchGetSymbolsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one symbol with a group's overrides applied (`symbol/get_group`).
     * @param \Mt5Gateway\V1\GetGroupSymbolRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetGroupSymbol(\Mt5Gateway\V1\GetGroupSymbolRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/GetGroupSymbol',
        $argument,
        ['\Mt5Gateway\V1\GetGroupSymbolResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the names of the groups visible to the gateway, paginated (`group/list`).
     * @param \Mt5Gateway\V1\ListGroupNamesRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListGroupNames(\Mt5Gateway\V1\ListGroupNamesRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/ListGroupNames',
        $argument,
        ['\Mt5Gateway\V1\ListGroupNamesResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns group configurations matching masks, paginated (`group/get` with `mask`,
     * `group/total`, `group/next`).
     * @param \Mt5Gateway\V1\ListGroupsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListGroups(\Mt5Gateway\V1\ListGroupsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/ListGroups',
        $argument,
        ['\Mt5Gateway\V1\ListGroupsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one group by name (`group/get`).
     * @param \Mt5Gateway\V1\GetGroupRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetGroup(\Mt5Gateway\V1\GetGroupRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.ConfigService/GetGroup',
        $argument,
        ['\Mt5Gateway\V1\GetGroupResponse', 'decode'],
        $metadata, $options);
    }

}
