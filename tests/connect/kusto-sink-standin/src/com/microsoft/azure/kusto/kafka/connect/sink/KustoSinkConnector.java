package com.microsoft.azure.kusto.kafka.connect.sink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * Test stand-in with the real Kusto sink connector's class name. It declares the sink's
 * configuration and validation rules; its task ingests records into Kusto with plain HTTP
 * (see KustoSinkTask). Not the real connector.
 */
public class KustoSinkConnector extends SinkConnector {
    static final String VERSION = "5.3.0-kustoplan-standin";

    private Map<String, String> props;

    @Override
    public String version() {
        return VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        new KustoSinkConfig(props); // throws ConfigException when invalid
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return KustoSinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>();
        for (int i = 0; i < maxTasks; i++) {
            configs.add(new HashMap<>(props));
        }
        return configs;
    }

    @Override
    public void stop() {}

    @Override
    public ConfigDef config() {
        return KustoSinkConfig.CONFIG_DEF;
    }

    /** Field-by-field rules from ConfigDef, then the cross-field rules of the real sink. */
    @Override
    public Config validate(Map<String, String> connectorConfigs) {
        Config config = super.validate(connectorConfigs);
        Map<String, ConfigValue> values = new HashMap<>();
        for (ConfigValue v : config.configValues()) {
            values.put(v.name(), v);
        }
        ConfigValue strategyValue = values.get(KustoSinkConfig.KUSTO_AUTH_STRATEGY_CONF);
        if (strategyValue == null || !strategyValue.errorMessages().isEmpty()) {
            return config;
        }
        String strategy = strategyValue.value() == null
                ? "application" : strategyValue.value().toString().toLowerCase(Locale.ROOT);
        if (strategy.equals("application")) {
            for (String key : new String[] {KustoSinkConfig.KUSTO_AUTH_APPID_CONF,
                    KustoSinkConfig.KUSTO_AUTH_APPKEY_CONF, KustoSinkConfig.KUSTO_AUTH_AUTHORITY_CONF}) {
                requireSet(values, connectorConfigs, key,
                        key + " must be set when aad.auth.strategy is 'application'");
            }
        } else if (strategy.equals("az_dev_token")) {
            requireSet(values, connectorConfigs, KustoSinkConfig.KUSTO_AUTH_ACCESS_TOKEN_CONF,
                    "aad.auth.accesstoken must be set when aad.auth.strategy is 'az_dev_token'");
        }
        if ("true".equalsIgnoreCase(connectorConfigs.get(KustoSinkConfig.KUSTO_VALIDATION_TABLE_ENABLE_CONF))) {
            requireSet(values, connectorConfigs, KustoSinkConfig.KUSTO_ENGINE_URL_CONF,
                    "kusto.query.url must be set when kusto.validation.table.enable is true");
        }
        return config;
    }

    private static void requireSet(Map<String, ConfigValue> values, Map<String, String> configs, String key,
            String message) {
        String raw = configs.get(key);
        ConfigValue v = values.get(key);
        if ((raw == null || raw.trim().isEmpty()) && v != null && v.errorMessages().isEmpty()) {
            v.addErrorMessage(message);
        }
    }
}
