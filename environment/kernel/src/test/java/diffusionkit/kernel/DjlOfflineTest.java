package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The kernel's choice of DJL's offline switch: the environment, else the command line, else the network routes. */
class DjlOfflineTest {

    // /proc/net/route and /proc/net/ipv6_route as Linux writes them (this machine's, and a loopback-only one)
    static final List<String> ROUTE_WITH_DEFAULT = List.of(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0");
    static final List<String> ROUTE_LOCAL_ONLY = List.of(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0");
    static final List<String> IPV6_LOOPBACK_ONLY = List.of(
            "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000"
                    + " 00000000 00000001 00000000 00000001       lo");
    static final List<String> IPV6_DEFAULT = List.of(
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001"
                    + " 00000400 00000001 00000000 00000003     eth0");

    @Test
    void theEnvironmentWinsThenTheCommandLineThenTheNetwork() {
        assertTrue(DjlOffline.decide("true", "false", ROUTE_WITH_DEFAULT, null).offline());
        assertFalse(DjlOffline.decide("FALSE", "true", ROUTE_LOCAL_ONLY, null).offline());
        assertTrue(DjlOffline.decide(null, "true", ROUTE_WITH_DEFAULT, null).offline());
        assertFalse(DjlOffline.decide("", null, ROUTE_WITH_DEFAULT, null).offline(), "a default route: online");
        assertTrue(DjlOffline.decide(null, null, ROUTE_LOCAL_ONLY, IPV6_LOOPBACK_ONLY).offline(), "no route out: offline");
        assertFalse(DjlOffline.decide(null, null, ROUTE_LOCAL_ONLY, IPV6_DEFAULT).offline(), "an IPv6 default route");
        assertFalse(DjlOffline.decide(null, null, null, null).offline(), "no /proc (not Linux): network assumed");
        assertEquals("no default network route", DjlOffline.decide(null, null, ROUTE_LOCAL_ONLY, null).why());
        Exception bad = assertThrows(IllegalArgumentException.class,
                () -> DjlOffline.decide("yes please", null, null, null));
        assertTrue(bad.getMessage().contains("DJL_OFFLINE=yes please: give true or false"), bad.getMessage());
    }
}
