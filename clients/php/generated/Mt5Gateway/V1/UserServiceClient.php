<?php
// GENERATED CODE -- DO NOT EDIT!

namespace Mt5Gateway\V1;

/**
 * Users (client accounts) and their trade state: MT5 `/api/user/*` commands.
 */
class UserServiceClient extends \Grpc\BaseStub {

    /**
     * @param string $hostname hostname
     * @param array $opts channel options
     * @param \Grpc\Channel $channel (optional) re-use channel object
     */
    public function __construct($hostname, $opts, $channel = null) {
        parent::__construct($hostname, $opts, $channel);
    }

    /**
     * Creates a user (`user/add`). Idempotent by request_id.
     * @param \Mt5Gateway\V1\CreateUserRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function CreateUser(\Mt5Gateway\V1\CreateUserRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/CreateUser',
        $argument,
        ['\Mt5Gateway\V1\CreateUserResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns one user by login (`user/get`).
     * @param \Mt5Gateway\V1\GetUserRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetUser(\Mt5Gateway\V1\GetUserRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/GetUser',
        $argument,
        ['\Mt5Gateway\V1\GetUserResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Changes the fields named in update_mask (`user/update`). Idempotent by request_id.
     * @param \Mt5Gateway\V1\UpdateUserRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function UpdateUser(\Mt5Gateway\V1\UpdateUserRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/UpdateUser',
        $argument,
        ['\Mt5Gateway\V1\UpdateUserResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Deletes a user (`user/delete`). Idempotent by request_id.
     * @param \Mt5Gateway\V1\DeleteUserRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function DeleteUser(\Mt5Gateway\V1\DeleteUserRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/DeleteUser',
        $argument,
        ['\Mt5Gateway\V1\DeleteUserResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns users by logins or by group masks, paginated (`user/get_batch`, `user/logins`).
     * @param \Mt5Gateway\V1\BatchGetUsersRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetUsers(\Mt5Gateway\V1\BatchGetUsersRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/BatchGetUsers',
        $argument,
        ['\Mt5Gateway\V1\BatchGetUsersResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the logins of the users in groups matching the masks, paginated
     * (`user/logins`).
     * @param \Mt5Gateway\V1\ListUserLoginsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ListUserLogins(\Mt5Gateway\V1\ListUserLoginsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/ListUserLogins',
        $argument,
        ['\Mt5Gateway\V1\ListUserLoginsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the group of one user (`user/group`).
     * @param \Mt5Gateway\V1\GetUserGroupRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetUserGroup(\Mt5Gateway\V1\GetUserGroupRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/GetUserGroup',
        $argument,
        ['\Mt5Gateway\V1\GetUserGroupResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Checks a user's password (`user/check_password`). A wrong password is not an error.
     * @param \Mt5Gateway\V1\CheckUserPasswordRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function CheckUserPassword(\Mt5Gateway\V1\CheckUserPasswordRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/CheckUserPassword',
        $argument,
        ['\Mt5Gateway\V1\CheckUserPasswordResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Sets a user's password (`user/change_password`). Idempotent by request_id.
     * @param \Mt5Gateway\V1\ChangeUserPasswordRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function ChangeUserPassword(\Mt5Gateway\V1\ChangeUserPasswordRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/ChangeUserPassword',
        $argument,
        ['\Mt5Gateway\V1\ChangeUserPasswordResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the trade state of one account (`user/account/get`).
     * @param \Mt5Gateway\V1\GetAccountRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetAccount(\Mt5Gateway\V1\GetAccountRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/GetAccount',
        $argument,
        ['\Mt5Gateway\V1\GetAccountResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns trade states by logins or group masks, paginated (`user/account/get_batch`).
     * @param \Mt5Gateway\V1\BatchGetAccountsRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function BatchGetAccounts(\Mt5Gateway\V1\BatchGetAccountsRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/BatchGetAccounts',
        $argument,
        ['\Mt5Gateway\V1\BatchGetAccountsResponse', 'decode'],
        $metadata, $options);
    }

    /**
     * Returns the number of users visible to the gateway's manager account (`user/total`).
     * @param \Mt5Gateway\V1\GetUserCountRequest $argument input argument
     * @param array $metadata metadata
     * @param array $options call options
     * @return \Grpc\UnaryCall
     */
    public function GetUserCount(\Mt5Gateway\V1\GetUserCountRequest $argument,
      $metadata = [], $options = []) {
        return $this->_simpleRequest('/mt5gateway.v1.UserService/GetUserCount',
        $argument,
        ['\Mt5Gateway\V1\GetUserCountResponse', 'decode'],
        $metadata, $options);
    }

}
