/*
 * Starts DynamoDB Local answering on 127.0.0.1 only.
 *
 * DynamoDB Local has no bind option: its DynamoDBProxyServer builds a Jetty `new Server(port)`,
 * whose one ServerConnector has no host and so binds the wildcard address (every interface),
 * with no authentication. There is no system property either: Jetty reads `jetty.http.host`
 * only in its own XML configuration (jetty-home), which DynamoDB Local does not use.
 *
 * So this launcher does what DynamoDB Local's own main class (ServerRunner.main) does, from
 * the jar's public API, with one change between "build" and "start": every connector of the
 * Jetty server is given the host 127.0.0.1. The Jetty server is a private field of
 * DynamoDBProxyServer, hence the reflection. What is left out of ServerRunner.main is its
 * telemetry setup (usage reports to AWS), which local mode does not want.
 *
 * Fail closed: if the server does not have the shape this relies on (a later DynamoDB Local
 * release), or a connector ends up bound anywhere but loopback, it exits non-zero before or
 * right after start, and local/dynamodb.ts reports that DynamoDB Local did not start.
 *
 * Run in Java's source-file mode (JEP 330, `java LoopbackDynamoDbLocal.java ...`, which needs
 * a JDK: the jdk.compiler module), with DynamoDBLocal.jar on the class path; the arguments
 * are DynamoDB Local's own (-port, -inMemory, -dbPath, -sharedDb), with one addition:
 * `-port 0` binds a port the system chooses, which DynamoDB Local's own parser refuses. A
 * caller that picked a free port and passed it would race every other process for it until
 * Java binds, seconds later. Once bound, the launcher prints one line naming the port and
 * the caller's `-Dtollgate.launch` tag: `DynamoDB Local listening on 127.0.0.1:<port> (launch
 * <tag>)`. The tag is the caller's proof that the line is the launcher's: DynamoDB Local
 * prints its arguments (the data folder's path among them) to the same stream.
 */
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
  static final String LOOPBACK = "127.0.0.1";
  /** Handed to DynamoDB Local's parser in place of 0 (it wants 1-65535); never bound. */
  static final String PARSER_PLACEHOLDER_PORT = "8000";

  public static void main(String[] args) {
    try {
      start(args);
    } catch (Throwable error) {
      // Jetty's threads are not daemons: without an explicit exit a failed start (the port
      // taken, say) would leave a JVM that serves nothing until the caller's timeout.
      error.printStackTrace();
      fail("DynamoDB Local did not start: " + error);
    }
  }

  static void start(String[] args) throws Exception {
    boolean systemChosenPort = false;
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals("-port") && args[i + 1].equals("0")) {
        args[i + 1] = PARSER_PLACEHOLDER_PORT;
        systemChosenPort = true;
      }
    }
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) fail("DynamoDB Local's Jetty server has no connector to bind");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) fail("unexpected Jetty connector " + connector.getClass().getName());
      ((ServerConnector) connector).setHost(LOOPBACK);
      if (systemChosenPort) ((ServerConnector) connector).setPort(0);
    }
    proxy.start();
    int port = -1;
    for (Connector connector : connectors) {
      Object transport = ((ServerConnector) connector).getTransport();
      InetSocketAddress bound = transport instanceof ServerSocketChannel
          ? (InetSocketAddress) ((ServerSocketChannel) transport).getLocalAddress()
          : null;
      if (bound == null || !bound.getAddress().isLoopbackAddress()) {
        proxy.stop();
        fail("DynamoDB Local is bound to " + bound + ", not to loopback");
      }
      port = bound.getPort();
    }
    System.out.println("DynamoDB Local listening on " + LOOPBACK + ":" + port + " (launch " + System.getProperty("tollgate.launch", "") + ")");
    System.out.flush();
  }

  static void fail(String message) {
    System.err.println("loopback launcher: " + message);
    System.exit(70);
  }
}
