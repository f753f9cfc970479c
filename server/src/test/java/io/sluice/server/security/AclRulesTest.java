package io.sluice.server.security;

import io.sluice.server.broker.TopicAccess;
import io.sluice.server.broker.TopicAccess.Scope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ACL file's rules, case by case: matching, covering, overlapping filters, deny precedence, patterns. */
class AclRulesTest {
    private static TopicAccess access(String acl, String clientId, String user) {
        return AclFile.parse(List.of(acl.split("\n")), "test").access(clientId, user);
    }

    @Test
    void coverAndOverlapFollowTheWildcardRules() {
        String[][] covers = { // pattern, filter, covers?, overlaps?
                {"a/#", "a/#", "true", "true"}, {"a/#", "a", "true", "true"}, {"a/#", "a/b/+", "true", "true"},
                {"a/+", "a/b", "true", "true"}, {"a/+", "a/#", "false", "true"}, {"a/+", "a/b/c", "false", "false"},
                {"a/b", "a/+", "false", "true"}, {"a/b", "#", "false", "true"}, {"#", "a/b", "true", "true"},
                {"#", "$SYS/x", "false", "false"}, {"+/x", "$SYS/x", "false", "false"}, {"$SYS/#", "#", "false", "false"},
                {"$SYS/#", "$SYS/broker/+", "true", "true"}, {"a/b", "c/#", "false", "false"}, {"+/+", "a", "false", "false"},
                {"a/+/c", "a/b/+", "false", "true"}, {"a", "a/#", "false", "true"}};
        for (String[] c : covers) {
            TopicPattern p = new TopicPattern(c[0]);
            String[] f = TopicPattern.split(c[1]);
            assertEquals(Boolean.parseBoolean(c[2]), p.covers(f), c[0] + " covers " + c[1]);
            assertEquals(Boolean.parseBoolean(c[3]), p.overlaps(f), c[0] + " overlaps " + c[1]);
        }
    }

    @Test
    void denyWinsAndWhatNoRuleGrantsIsRefused() {
        TopicAccess a = access("user u\ntopic readwrite a/#\ntopic deny a/secret/#\ntopic read r/#\ntopic write w/#", "c", "u");
        assertTrue(a.mayPublish("a/x"));
        assertFalse(a.mayPublish("a/secret/x"));
        assertFalse(a.mayRead("a/secret/x"));
        assertTrue(a.mayRead("r/x"));
        assertFalse(a.mayPublish("r/x"));
        assertTrue(a.mayPublish("w/x"));
        assertFalse(a.mayRead("w/x"));
        assertFalse(a.mayPublish("other"));
        assertEquals(Scope.ALL, a.subscribe("a/public/#"));
        assertEquals(Scope.SOME, a.subscribe("a/#"));
        assertEquals(Scope.NONE, a.subscribe("a/secret/+"));
        assertEquals(Scope.NONE, a.subscribe("w/#"));
        assertEquals(Scope.SOME, a.subscribe("#"));
        assertEquals(Scope.SOME, a.subscribe("+/x"));
        assertEquals(Scope.NONE, a.subscribe("zzz/#"));
    }

    @Test
    void theSectionsBeforeAnyUserAreTheAnonymousClientsAndPatternsAreEveryones() {
        String acl = "topic read public/#\nuser u\ntopic u/#\npattern readwrite dev/%c/#\npattern read home/%u/#";
        TopicAccess anonymous = access(acl, "c1", null);
        assertTrue(anonymous.mayRead("public/x"));
        assertFalse(anonymous.mayRead("u/x"));
        assertTrue(anonymous.mayPublish("dev/c1/x"));
        assertFalse(anonymous.mayRead("home//x"), "a %u pattern grants an anonymous client nothing");
        TopicAccess u = access(acl, "c2", "u");
        assertTrue(u.mayPublish("u/x"), "no access word means readwrite");
        assertFalse(u.mayRead("public/x"));
        assertTrue(u.mayRead("home/u/x"));
        assertFalse(u.mayRead("dev/c1/x"));
        // a client id or user name with wildcards or '/' would widen the pattern: it is skipped
        assertFalse(access(acl, "#", "u").mayRead("dev/anything/x"));
        assertFalse(access(acl, "a/b", "u").mayPublish("dev/a/b/x"));
        assertFalse(access(acl, "c", "+").mayRead("home/x/y"));
    }

    @Test
    void badLinesAreRefusedWithTheirNumber() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AclFile.parse(List.of("user u", "topic read", "x"), "f"));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AclFile.parse(List.of("allow all"), "f"));
        assertTrue(e.getMessage().contains("unknown keyword 'allow'"), e.getMessage());
        assertEquals("a b", ((AclRules) access("topic read a b", "c", null)).rules().get(0).pattern().text(),
                "a filter may hold spaces");
    }

    @Test
    void answersAreCachedAndTheCacheIsBounded() {
        AclRules a = (AclRules) access("topic read a/#", "c", null);
        for (int i = 0; i < AclRules.CACHE_LIMIT * 3; i++) {
            assertTrue(a.mayRead("a/" + i));
            assertFalse(a.mayRead("b/" + i));
        }
    }
}
