// Runs an embedded Neo4j Community DBMS with only the Bolt connector, for the local stack
// (deploy/local/services/neo4j.ts). The classpath is the jars copied from ./pom.xml.
//
// Usage: java -cp '<lib>/*' Neo4jLauncher.java <homeDir> <neo4j.conf>
//
// Why a launcher instead of the Neo4j distribution: the tarball is not on Maven Central, and
// only Maven Central is reachable here; org.neo4j:neo4j is. All settings (Bolt address, auth,
// page cache...) come from the neo4j.conf that the TypeScript side writes, so they stay visible
// in the stack dir. It prints a NEO4J_READY line once Bolt answers and shuts the DBMS down
// cleanly on SIGTERM (shutdown hook), so the store needs no recovery on the next start.

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

public final class Neo4jLauncher {
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 2) {
      System.err.println("usage: Neo4jLauncher <homeDir> <neo4j.conf>");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    Path conf = Path.of(args[1]).toAbsolutePath();

    long started = System.nanoTime();
    DatabaseManagementService dbms;
    try {
      dbms = new DatabaseManagementServiceBuilder(home).loadPropertiesFromFile(conf).build();
    } catch (Throwable t) {
      // A failed start leaves non-daemon Neo4j threads behind that would keep the JVM alive
      // forever (seen with a held store lock): exit so the stack reports the failure at once.
      t.printStackTrace();
      System.exit(1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("NEO4J_STOPPING");
                  try {
                    dbms.shutdown();
                  } finally {
                    stopped.countDown();
                    System.out.println("NEO4J_STOPPED");
                  }
                },
                "neo4j-shutdown"));
    // build() returns once the system and default databases are started and Bolt is bound.
    dbms.database("neo4j").executeTransactionally("RETURN 1");
    System.out.printf(
        "NEO4J_READY ms=%d%n", (System.nanoTime() - started) / 1_000_000);
    stopped.await();
  }
}
