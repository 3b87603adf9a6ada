<?php
// GENERATED CODE -- DO NOT EDIT!

namespace Mt5Gateway\V1;

/**
 * Balance operations and trade records: positions, open orders, history orders and deals
 * (MT5 `/api/trade/balance`, `/api/position/*`, `/api/order/*`, `/api/history/*`,
 * `/api/deal/*`).
 */
class TradeServiceClient extends \Grpc\BaseStub {

    /**
     * @param string $hostname hostname
     * @param array $opts channel options
     * @param \Grpc\Channel $channel (optional) re-use channel object
     */
    public function __construct($hostname, $opts, $channel = null) {
        parent::__construct($hostname, $opts, $channel);
    }

    /**
     * Deposits, withdraws, credits, charges, corrects or gives a bonus (`trade/balance`).
     * Exactly once per request_id: a repeat returns the stored first result.
     * @param \Mt5Gateway\V1\CreateBalanceOperationRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function CreateBalanceOperation(\Mt5Gateway\V1\CreateBalanceOperationRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/CreateBalanceOperation',
        $argument,
        ['\Mt5Gateway\V1\CreateBalanceOperationResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the open positions of one account, paginated (`position/get_total`,
     * `get_page`).
     * @param \Mt5Gateway\V1\ListPositionsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListPositions(\Mt5Gateway\V1\ListPositionsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/ListPositions',
        $argument,
        ['\Mt5Gateway\V1\ListPositionsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the position of one account in one symbol (`position/get`).
     * @param \Mt5Gateway\V1\GetPositionRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetPosition(\Mt5Gateway\V1\GetPositionRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/GetPosition',
        $argument,
        ['\Mt5Gateway\V1\GetPositionResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns positions by logins, groups or tickets, paginated (`position/get_batch`).
     * @param \Mt5Gateway\V1\BatchGetPositionsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetPositions(\Mt5Gateway\V1\BatchGetPositionsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/BatchGetPositions',
        $argument,
        ['\Mt5Gateway\V1\BatchGetPositionsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the open orders of one account, paginated (`order/get_total`, `get_page`).
     * @param \Mt5Gateway\V1\ListOrdersRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListOrders(\Mt5Gateway\V1\ListOrdersRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/ListOrders',
        $argument,
        ['\Mt5Gateway\V1\ListOrdersResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one open order by ticket (`order/get`).
     * @param \Mt5Gateway\V1\GetOrderRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetOrder(\Mt5Gateway\V1\GetOrderRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/GetOrder',
        $argument,
        ['\Mt5Gateway\V1\GetOrderResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns open orders by logins, groups or tickets, paginated (`order/get_batch`).
     * @param \Mt5Gateway\V1\BatchGetOrdersRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetOrders(\Mt5Gateway\V1\BatchGetOrdersRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/BatchGetOrders',
        $argument,
        ['\Mt5Gateway\V1\BatchGetOrdersResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the closed orders of one account in a time range, paginated
     * (`history/get_total`, `history/get_page`).
     * @param \Mt5Gateway\V1\ListHistoryOrdersRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListHistoryOrders(\Mt5Gateway\V1\ListHistoryOrdersRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/ListHistoryOrders',
        $argument,
        ['\Mt5Gateway\V1\ListHistoryOrdersResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one closed order by ticket (`history/get`).
     * @param \Mt5Gateway\V1\GetHistoryOrderRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetHistoryOrder(\Mt5Gateway\V1\GetHistoryOrderRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/GetHistoryOrder',
        $argument,
        ['\Mt5Gateway\V1\GetHistoryOrderResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns closed orders by logins, groups or tickets, paginated (`history/get_batch`).
     * @param \Mt5Gateway\V1\BatchGetHistoryOrdersRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetHistoryOrders(\Mt5Gateway\V1\BatchGetHistoryOrdersRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/BatchGetHistoryOrders',
        $argument,
        ['\Mt5Gateway\V1\BatchGetHistoryOrdersResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the deals of one account in a time range, paginated (`deal/get_total`,
     * `deal/get_page`).
     * @param \Mt5Gateway\V1\ListDealsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListDeals(\Mt5Gateway\V1\ListDealsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/ListDeals',
        $argument,
        ['\Mt5Gateway\V1\ListDealsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one deal by ticket (`deal/get`).
     * @param \Mt5Gateway\V1\GetDealRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetDeal(\Mt5Gateway\V1\GetDealRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/GetDeal',
        $argument,
        ['\Mt5Gateway\V1\GetDealResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns deals by logins, groups or tickets, paginated (`deal/get_batch`).
     * @param \Mt5Gateway\V1\BatchGetDealsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetDeals(\Mt5Gateway\V1\BatchGetDealsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.TradeService/BatchGetDeals',
        $argument,
        ['\Mt5Gateway\V1\BatchGetDealsResponse', 'decode'],
        $metadata, $options);
    }

}
