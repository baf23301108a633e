package bench;

import java.util.HashMap;
import java.util.Map;

/** `--name value` arguments with an environment-variable fallback. */
final class Args {
  private final Map<String, String> named = new HashMap<>();

  Args(String[] argv) {
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument: " + a);
      int eq = a.indexOf('=');
      if (eq > 0) {
        named.put(a.substring(2, eq), a.substring(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new IllegalArgumentException("missing value for " + a);
        named.put(a.substring(2), argv[++i]);
      }
    }
  }

  String get(String name, String env, String dflt) {
    String v = named.get(name);
    if (v == null && env != null) v = System.getenv(env);
    if (v == null || v.isEmpty()) v = dflt;
    return v;
  }

  String require(String name, String env) {
    String v = get(name, env, null);
    if (v == null) throw new IllegalArgumentException("--" + name + (env != null ? " (or " + env + ")" : "") + " is required");
    return v;
  }

  static String bootstrap(Args a) {
    return a.get("bootstrap", "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
  }
}
