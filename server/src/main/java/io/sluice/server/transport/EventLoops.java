package io.sluice.server.transport;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SelectStrategyFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.NettyRuntime;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.nio.channels.spi.SelectorProvider;
import java.util.concurrent.TimeUnit;

/**
 * The broker's I/O threads: one acceptor thread, {@code io-threads} worker threads (0: one per core, see
 * {@link #defaultThreads()}) and one thread answering the sockets shed while overloaded (started on first use), on native
 * epoll where Netty's native library loads (Linux), NIO elsewhere or when asked: checking for epoll unpacks and
 * loads the native library, the largest single cost of a first start in a JVM.
 */
public final class EventLoops {
    /**
     * The buffers of every connection: Netty's pooled allocator with 1 MiB chunks (page 8 KiB, order 7) instead of
     * its default 4 MiB. Without Netty's unsafe direct-buffer access (off on Java 17 unless java.nio is opened)
     * a chunk comes from {@code ByteBuffer.allocateDirect}, which zeroes it, so each I/O thread's first read made
     * a whole chunk resident: 16 MB for four I/O threads before the first message. A broker's buffers are small
     * (packets, frames, reads of at most 64 KiB); a rare larger one is allocated on its own.
     * {@code -Dio.netty.allocator.maxOrder} still decides when set.
     */
    public static final PooledByteBufAllocator ALLOCATOR = new PooledByteBufAllocator(true,
            PooledByteBufAllocator.defaultNumHeapArena(), PooledByteBufAllocator.defaultNumDirectArena(),
            PooledByteBufAllocator.defaultPageSize(), Integer.getInteger("io.netty.allocator.maxOrder", 7),
            PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(),
            PooledByteBufAllocator.defaultUseCacheForAllThreads());

    /**
     * The read-size guesser every connection shares: Netty otherwise makes one per channel, identical and
     * stateless (each channel's own sizing lives in its handle), 32 bytes that idle connections pay by the
     * hundred thousand.
     */
    public static final AdaptiveRecvByteBufAllocator RECEIVE_SIZES = new AdaptiveRecvByteBufAllocator();

    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final EventLoopGroup refusals;
    private final Class<? extends ServerSocketChannel> serverChannelType;

    public EventLoops(int ioThreads) {
        this(ioThreads, true);
    }

    public EventLoops(int ioThreads, boolean nativeTransport) {
        this(ioThreads, nativeTransport, 0);
    }

    /**
     * {@code coalesceMicros}: how long a busy worker loop naps before it waits for more work, so that one wake-up
     * serves what came meanwhile ({@link CoalescedWakeups}; 0: Netty's default, wait at once).
     */
    public EventLoops(int ioThreads, boolean nativeTransport, int coalesceMicros) {
        boolean epoll = nativeTransport && Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        IoHandlerFactory workerIo = io;
        if (coalesceMicros > 0) {
            SelectStrategyFactory coalesce = CoalescedWakeups.factory(coalesceMicros);
            workerIo = epoll ? EpollIoHandler.newFactory(0, coalesce)
                    : NioIoHandler.newFactory(SelectorProvider.provider(), coalesce);
        }
        this.acceptors = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-accept"), io);
        this.workers = new MultiThreadIoEventLoopGroup(ioThreads > 0 ? ioThreads : defaultThreads(),
                new DefaultThreadFactory("sluice-io"), workerIo);
        this.refusals = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-refuse"), io);
        this.serverChannelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /**
     * One event loop per core, not Netty's two: a loop that has nothing to do sleeps in epoll_wait, and a message
     * crossing from its publisher's loop to its subscriber's wakes the other (an eventfd write and a context switch).
     * With twice as many loops as cores each loop holds half the connections, wakes about as often for fewer
     * events, and more publisher-subscriber pairs sit on different loops: at a fixed rate of point-to-point QoS 1
     * over WebSocket the broker spent 1.3-1.6x the CPU per message with four loops on two cores than with two, and
     * made 1.4-1.6x the context switches (benchmarks/analysis.md). {@code -Dio.netty.eventLoopThreads} still
     * decides when set.
     */
    static int defaultThreads() {
        return Integer.getInteger("io.netty.eventLoopThreads", NettyRuntime.availableProcessors());
    }

    public EventLoopGroup acceptors() {
        return acceptors;
    }

    public EventLoopGroup workers() {
        return workers;
    }

    /**
     * One thread of its own for the sockets shed while the broker is overloaded ({@link ShedAnswer}): answering
     * them there costs the I/O threads, which lack time then, nothing.
     */
    public EventLoopGroup refusals() {
        return refusals;
    }

    public Class<? extends ServerSocketChannel> serverChannelType() {
        return serverChannelType;
    }

    public String kind() {
        return serverChannelType == NioServerSocketChannel.class ? "nio" : "epoll";
    }

    /** Stop both groups and wait (bounded) for their threads to finish. */
    public void shutdown() {
        acceptors.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        refusals.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        refusals.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        acceptors.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        workers.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
