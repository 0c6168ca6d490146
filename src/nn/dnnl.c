/*
 * The convolutions of a two-stage CNN on oneDNN kernels: forward with bias and ReLU
 * fused, backward data of conv2, and backward weights and bias of both.
 *
 * A plan contains every primitive and buffer for one batch size. The workspace
 * keeps up to PLAN_SLOTS plans, because a training run uses at most four
 * sizes: the mini-batch, the last partial mini-batch, the validation chunk
 * and the last partial chunk. Primitives are built on the first batch of a
 * size and reused for every later one.
 *
 * Our buffers keep their plain layouts: the input x is [n][C][W] (ncw), the
 * conv2 output act2 and its gradient are position-major [n L2][f2] (nwc), the
 * weights and gradients are oiw (conv1) and owi (conv2) in cnn->params and
 * cnn->grads. Each primitive is created with format_tag::any, so oneDNN
 * picks its own layouts. A reorder runs only where the layout or data type
 * that oneDNN picked differs from the buffer that feeds or receives it.
 * conv1's output stays in oneDNN's layout between the two convolutions, and
 * the gradient of conv1's output is requested in that same layout, so the
 * ReLU mask between them is one flat loop over two equal-layout buffers.
 *
 * In bf16 mode the inputs and weights of every convolution are rounded to
 * bfloat16, and oneDNN accumulates in float32. conv1's output and its
 * gradient are stored in bfloat16, because conv2 and conv1's weight gradient
 * would round them to that anyway. conv2's output and the weight gradients
 * stay float32, and so do the master weights, the dense layers and Adam.
 *
 * oneDNN 2.6 as built by Debian runs on the GNU OpenMP runtime. Each plan
 * executes with as many OpenMP threads as OpenBLAS has, so --threads sets
 * both. Data-parallel shards (parallel.c) set OpenBLAS to one thread, so
 * their plans run on their own thread alone.
 *
 * libdnnl is loaded with dlopen() on first use (src/util/libraries.c), and
 * its functions and GNU OpenMP's omp_set_num_threads are called through the
 * table dnnl points to. nn_dnnl_create() loads it, and every other call
 * needs the nn_dnnl that it returns, except nn_dnnl_bf16_supported(), which
 * loads it too.
 *
 * NOTE: bit-identical runs need oneDNN's weight-gradient kernels to reduce
 * in the same order each time at a given thread count. Debian's x86-64
 * build of oneDNN 2.6.3 does (tests/unit/test_nn_dnnl.c and the determinism
 * tests check it), but its documentation promises nothing.
 */
#include "nn/nn_internal.h"


/* oneDNN runs the convolutions of two stages, dilated or not. Batch
 * normalisation, pooling, dropout between them and other stage counts take
 * the sgemm path. The readout, dense layers, hidden dropout and symbol
 * embedding run in layers.c on either path. */
int nn_dnnl_serves(const ohlcx_cnn_config *config)
{
    if (config->conv_count != 2 || config->batch_norm || config->dropout > 0.0f)
        return 0;
    return config->conv[0].pool == 1 && config->conv[1].pool == 1;
}

#ifdef OHLCX_HAVE_DNNL

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "util/libraries.h"

static const ohlcx_dnnl_api *const dnnl = &ohlcx_dnnl;

/* Plans kept per workspace, see the file comment. */
#define PLAN_SLOTS 4

/* Most primitives, memories and steps in one plan: four convolutions, at
 * most twelve reorders, and their memories. */
#define MAX_PRIMITIVES 24
#define MAX_MEMORIES 48
#define MAX_STEPS 24
#define MAX_ARGS 7

/* Scratchpads are shared within a plan, aligned to a cache line. */
#define SCRATCH_ALIGN 64

typedef struct plan_step {
    dnnl_primitive_t primitive;
    int arg_count;
    dnnl_exec_arg_t args[MAX_ARGS];
} plan_step;

/* Ordered steps that run as one group between our own loops. */
typedef struct step_list {
    int count;
    plan_step steps[MAX_STEPS];
} step_list;

typedef struct plan {
    size_t n;          /* samples; 0 marks a free slot */
    int threads;       /* OpenMP threads the kernels were built for */
    uint64_t last_use; /* for replacing the least recently used plan */

    /* Memories that wrap our buffers; their handles are set before each
     * run because x changes from call to call. */
    dnnl_memory_t x;
    dnnl_memory_t w1, b1, w2, b2;
    dnnl_memory_t act2; /* ws->last_out: conv2 output, then its gradient */
    size_t act2_block;  /* layout of act2, as in nn_workspace.act2_block */
    dnnl_memory_t g_w1, g_b1, g_w2, g_b2;

    dnnl_memory_t act1;   /* conv1 output in oneDNN's layout */
    dnnl_memory_t d_act1; /* its gradient, in the same layout */
    size_t act1_count;    /* values in act1 and d_act1, padding included */
    int act1_bf16;        /* 1: act1 and d_act1 hold bfloat16, else float32 */
    void *act1_data;      /* the buffers of act1 and d_act1 */
    void *d_act1_data;
    /* When set, conv1's weight gradient reads d_act1 in nCw8c from here,
     * copied by relayout_to_8c(). */
    float *d_act1_8c;

    /* Inputs of the forward convolutions: the memories above or their
     * reorders. The backward steps reuse those whose layout fits. */
    dnnl_memory_t x_in, w1_in, act1_in, w2_in;

    step_list forward;
    step_list backward_conv2; /* conv2 weights, bias and data gradients */
    step_list backward_conv1; /* conv1 weights and bias gradients */

    /* Scratchpad memories, pointed at one shared buffer. */
    dnnl_memory_t scratch[MAX_PRIMITIVES];
    int scratch_count;
    size_t scratch_bytes;
    void *scratch_buffer;

    /* Everything to destroy. */
    dnnl_primitive_t primitives[MAX_PRIMITIVES];
    int primitive_count;
    dnnl_memory_t memories[MAX_MEMORIES];
    int memory_count;
} plan;

struct nn_dnnl {
    int bf16;       /* 1: bfloat16 inputs and weights */
    int backward;   /* 1: plans include the backward steps */
    uint64_t calls; /* for last_use */
    dnnl_stream_t stream;
    plan plans[PLAN_SLOTS];
};

static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;


static void create_engine(void)
{
    engine_status = dnnl->dnnl_engine_create(&engine, dnnl_cpu, 0);
}


/* Returns 1 when oneDNN can run bf16 convolutions on this CPU, which needs
 * the AVX512_BF16 instructions, and 0 also when libdnnl cannot be loaded. */
int nn_dnnl_bf16_supported(void)
{
    dnnl_cpu_isa_t isa;

    if (ohlcx_dnnl_load() != OHLCX_OK)
        return 0;
    isa = dnnl->dnnl_get_effective_cpu_isa();

    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) ==
           (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}


static int fail(dnnl_status_t status, const char *what, size_t n)
{
    return ohlcx_set_error(OHLCX_ELIB, "cnn: oneDNN failed to %s for a "
                           "batch of %zu samples (dnnl_status %d): build "
                           "without oneDNN (-DOHLCX_WITH_DNNL=OFF) to use the "
                           "sgemm kernels", what, n, (int)status);
}


#define CHECK(call, what)                          \
    do {                                           \
        dnnl_status_t status_ = (call);            \
        if (status_ != dnnl_success)               \
            return fail(status_, (what), p->n);    \
    } while (0)


static void init_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
                    dnnl_data_type_t type, dnnl_format_tag_t tag)
{
    dnnl->dnnl_memory_desc_init_by_tag(md, ndims, dims, type, tag);
}


/* Creates a memory owned by the plan: on our buffer when handle is
 * DNNL_MEMORY_NONE (set later), or allocated by oneDNN. */
static int new_memory(plan *p, const dnnl_memory_desc_t *md, void *handle,
                      dnnl_memory_t *out)
{
    if (p->memory_count == MAX_MEMORIES)
        return fail(dnnl_out_of_memory, "fit the plan's memories", p->n);
    CHECK(dnnl->dnnl_memory_create(out, md, engine, handle), "create a memory");
    p->memories[p->memory_count++] = *out;
    return OHLCX_OK;
}


static plan_step *add_step(step_list *list, dnnl_primitive_t primitive)
{
    plan_step *step = &list->steps[list->count++];

    step->primitive = primitive;
    step->arg_count = 0;
    return step;
}


static void add_arg(plan_step *step, int arg, dnnl_memory_t memory)
{
    step->args[step->arg_count].arg = arg;
    step->args[step->arg_count].memory = memory;
    step->arg_count++;
}


static dnnl_primitive_attr_t scratch_attr(void)
{
    dnnl_primitive_attr_t attr = NULL;

    if (dnnl->dnnl_primitive_attr_create(&attr) != dnnl_success)
        return NULL;
    dnnl->dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    return attr;
}


/* Creates the primitive of pd and adds it to list with a scratchpad
 * argument. The caller still owns pd. */
static int add_primitive(plan *p, step_list *list,
                         const_dnnl_primitive_desc_t pd, plan_step **out)
{
    const dnnl_memory_desc_t *scratch_md =
        dnnl->dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    dnnl_primitive_t primitive;
    dnnl_status_t status;
    dnnl_memory_t scratch;
    size_t bytes;
    int rc;

    if (p->primitive_count == MAX_PRIMITIVES || list->count == MAX_STEPS)
        return fail(dnnl_out_of_memory, "fit the plan's primitives", p->n);
    status = dnnl->dnnl_primitive_create(&primitive, pd);
    if (status != dnnl_success)
        return fail(status, "create a primitive", p->n);
    p->primitives[p->primitive_count++] = primitive;
    *out = add_step(list, primitive);

    bytes = scratch_md ? dnnl->dnnl_memory_desc_get_size(scratch_md) : 0;
    if (bytes > 0) {
        rc = new_memory(p, scratch_md, DNNL_MEMORY_NONE, &scratch);
        if (rc != OHLCX_OK)
            return rc;
        p->scratch[p->scratch_count++] = scratch;
        if (bytes > p->scratch_bytes)
            p->scratch_bytes = bytes;
        add_arg(*out, DNNL_ARG_SCRATCHPAD, scratch);
    }
    return OHLCX_OK;
}


/* Adds to list a reorder from memory `from` to memory `to`. */
static int add_reorder(plan *p, step_list *list, dnnl_memory_t from,
                       dnnl_memory_t to)
{
    const dnnl_memory_desc_t *from_md;
    const dnnl_memory_desc_t *to_md;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr = scratch_attr();
    dnnl_status_t status;
    plan_step *step;
    int rc;

    dnnl->dnnl_memory_get_memory_desc(from, &from_md);
    dnnl->dnnl_memory_get_memory_desc(to, &to_md);
    status = dnnl->dnnl_reorder_primitive_desc_create(&pd, from_md, engine, to_md,
                                                      engine, attr);
    dnnl->dnnl_primitive_attr_destroy(attr);
    CHECK(status, "create a reorder");

    rc = add_primitive(p, list, pd, &step);
    dnnl->dnnl_primitive_desc_destroy(pd);
    if (rc != OHLCX_OK)
        return rc;
    add_arg(step, DNNL_ARG_FROM, from);
    add_arg(step, DNNL_ARG_TO, to);
    return OHLCX_OK;
}


/* Stores in *out a memory with the layout `want` that contains the data of
 * `have`: have itself when the layouts are equal, otherwise a new memory
 * filled by a reorder added to list. */
static int adopt_input(plan *p, step_list *list, const dnnl_memory_desc_t *want,
                       dnnl_memory_t have, dnnl_memory_t *out)
{
    const dnnl_memory_desc_t *have_md;
    int rc;

    dnnl->dnnl_memory_get_memory_desc(have, &have_md);
    if (dnnl->dnnl_memory_desc_equal(want, have_md)) {
        *out = have;
        return OHLCX_OK;
    }
    rc = new_memory(p, want, DNNL_MEMORY_ALLOCATE, out);
    if (rc != OHLCX_OK)
        return rc;
    return add_reorder(p, list, have, *out);
}


/* Stores in *out the memory a primitive writes with layout `want`, and when
 * that is not the layout of `have`, a new memory whose reorder into have
 * must run after the primitive: *pending is set to it, else NULL. */
static int adopt_output(plan *p, const dnnl_memory_desc_t *want,
                        dnnl_memory_t have, dnnl_memory_t *out,
                        dnnl_memory_t *pending)
{
    const dnnl_memory_desc_t *have_md;

    *pending = NULL;
    dnnl->dnnl_memory_get_memory_desc(have, &have_md);
    if (dnnl->dnnl_memory_desc_equal(want, have_md)) {
        *out = have;
        return OHLCX_OK;
    }
    *pending = have;
    return new_memory(p, want, DNNL_MEMORY_ALLOCATE, out);
}


static int finish_output(plan *p, step_list *list, dnnl_memory_t produced,
                         dnnl_memory_t pending)
{
    if (pending == NULL)
        return OHLCX_OK;
    return add_reorder(p, list, produced, pending);
}


static const dnnl_memory_desc_t *query(const_dnnl_primitive_desc_t pd,
                                       dnnl_query_t what)
{
    return dnnl->dnnl_primitive_desc_query_md(pd, what, 0);
}


/* Sizes of the two convolutions for one batch. */
typedef struct conv_shapes {
    dnnl_dims_t x, act1, act2;  /* {n, channels, length} */
    dnnl_dims_t w1, w2;         /* {out, in, taps} */
    dnnl_dims_t b1, b2;
    dnnl_dims_t dilate1, dilate2; /* {dilation - 1}, oneDNN's convention */
} conv_shapes;


static void describe_shapes(const ohlcx_cnn *cnn, size_t n, conv_shapes *s)
{
    const ohlcx_cnn_config *c = &cnn->config;
    const nn_stage *first = &cnn->stage[0];
    const nn_stage *second = &cnn->stage[1];

    s->x[0] = (dnnl_dim_t)n;
    s->x[1] = c->channels;
    s->x[2] = c->window;
    s->act1[0] = (dnnl_dim_t)n;
    s->act1[1] = first->filters;
    s->act1[2] = (dnnl_dim_t)first->length;
    s->act2[0] = (dnnl_dim_t)n;
    s->act2[1] = second->filters;
    s->act2[2] = (dnnl_dim_t)second->length;
    s->w1[0] = first->filters;
    s->w1[1] = c->channels;
    s->w1[2] = first->kernel;
    s->w2[0] = second->filters;
    s->w2[1] = first->filters;
    s->w2[2] = second->kernel;
    s->b1[0] = first->filters;
    s->b2[0] = second->filters;
    s->dilate1[0] = first->dilation - 1;
    s->dilate2[0] = second->dilation - 1;
}


/* Wraps one of our buffers in a memory without a handle. */
static int user_memory(plan *p, int ndims, const dnnl_dim_t *dims,
                       dnnl_format_tag_t tag, dnnl_memory_t *out)
{
    dnnl_memory_desc_t md;

    init_md(&md, ndims, dims, dnnl_f32, tag);
    return new_memory(p, &md, DNNL_MEMORY_NONE, out);
}


static int create_user_memories(plan *p, const conv_shapes *s, int backward)
{
    dnnl_memory_t *const weights[] = {&p->w1, &p->w2, &p->g_w1, &p->g_w2};
    dnnl_memory_t *const biases[] = {&p->b1, &p->b2, &p->g_b1, &p->g_b2};
    const dnnl_format_tag_t weight_tags[] = {dnnl_oiw, dnnl_owi};
    const dnnl_dim_t *weight_dims[] = {s->w1, s->w2};
    const dnnl_dim_t *bias_dims[] = {s->b1, s->b2};
    int count = backward ? 4 : 2;
    int rc;

    rc = user_memory(p, 3, s->x, dnnl_ncw, &p->x);
    if (rc != OHLCX_OK)
        return rc;

    for (int i = 0; i < count; i++) {
        rc = user_memory(p, 3, weight_dims[i % 2], weight_tags[i % 2],
                         weights[i]);
        if (rc != OHLCX_OK)
            return rc;
        rc = user_memory(p, 1, bias_dims[i % 2], dnnl_a, biases[i]);
        if (rc != OHLCX_OK)
            return rc;
    }
    return OHLCX_OK;
}


/* Creates the forward primitive descriptor of a convolution with bias and
 * a fused ReLU: src and weights in `type`, bias in float32, dst in
 * dst_type, every layout chosen by oneDNN. */
static dnnl_status_t conv_forward_pd(dnnl_primitive_desc_t *pd,
                                     const dnnl_dims_t src, const dnnl_dims_t weights,
                                     const dnnl_dims_t bias, const dnnl_dims_t dst,
                                     const dnnl_dims_t dilates,
                                     dnnl_data_type_t type,
                                     dnnl_data_type_t dst_type)
{
    static const dnnl_dims_t ones = {1}, zeros = {0};
    dnnl_memory_desc_t src_md, weights_md, bias_md, dst_md;
    dnnl_convolution_desc_t desc;
    dnnl_primitive_attr_t attr = scratch_attr();
    dnnl_post_ops_t post_ops;
    dnnl_status_t status;

    init_md(&src_md, 3, src, type, dnnl_format_tag_any);
    init_md(&weights_md, 3, weights, type, dnnl_format_tag_any);
    init_md(&bias_md, 1, bias, dnnl_f32, dnnl_a);
    init_md(&dst_md, 3, dst, dst_type, dnnl_format_tag_any);
    status = dnnl->dnnl_dilated_convolution_forward_desc_init(
        &desc, dnnl_forward_training, dnnl_convolution_direct, &src_md,
        &weights_md, &bias_md, &dst_md, ones, dilates, zeros, zeros);
    if (status != dnnl_success || attr == NULL) {
        dnnl->dnnl_primitive_attr_destroy(attr);
        return status != dnnl_success ? status : dnnl_out_of_memory;
    }

    dnnl->dnnl_post_ops_create(&post_ops);
    dnnl->dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    dnnl->dnnl_primitive_attr_set_post_ops(attr, post_ops);
    dnnl->dnnl_post_ops_destroy(post_ops);

    status = dnnl->dnnl_primitive_desc_create(pd, &desc, attr, engine, NULL);
    dnnl->dnnl_primitive_attr_destroy(attr);
    return status;
}


/* Returns 1 when pd runs a reference (unoptimised) kernel, which oneDNN
 * falls back to for layouts that its fast kernels do not take. */
static int is_reference(const_dnnl_primitive_desc_t pd)
{
    const char *name = NULL;

    dnnl->dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return name == NULL || strncmp(name, "ref", 3) == 0;
}


/* Returns md with its data type replaced, keeping the layout. */
static dnnl_memory_desc_t with_type(const dnnl_memory_desc_t *md,
                                    dnnl_data_type_t type)
{
    dnnl_memory_desc_t copy = *md;

    copy.data_type = type;
    return copy;
}


/* Creates the backward-weights descriptor of a convolution: src and
 * diff_dst in `type`, weight and bias gradients in float32. It first requests
 * the layouts of the forward pass's src and dst (src_layout and
 * dst_layout), which saves two reorders, and lets oneDNN pick when only a
 * reference kernel takes them. */
static dnnl_status_t conv_weights_pd(dnnl_primitive_desc_t *pd,
                                     const dnnl_memory_desc_t *src_layout,
                                     const dnnl_dims_t weights, const dnnl_dims_t bias,
                                     const dnnl_memory_desc_t *dst_layout,
                                     const dnnl_dims_t dilates,
                                     dnnl_data_type_t type,
                                     const_dnnl_primitive_desc_t hint)
{
    static const dnnl_dims_t ones = {1}, zeros = {0};
    dnnl_memory_desc_t src_md, weights_md, bias_md, dst_md;
    dnnl_convolution_desc_t desc;
    dnnl_primitive_attr_t attr = scratch_attr();
    dnnl_status_t status = dnnl_out_of_memory;

    init_md(&weights_md, 3, weights, dnnl_f32, dnnl_format_tag_any);
    init_md(&bias_md, 1, bias, dnnl_f32, dnnl_a);
    for (int attempt = 0; attempt < 2 && attr != NULL; attempt++) {
        src_md = with_type(src_layout, type);
        dst_md = with_type(dst_layout, type);
        if (attempt == 1) {
            init_md(&src_md, 3, src_layout->dims, type, dnnl_format_tag_any);
            init_md(&dst_md, 3, dst_layout->dims, type, dnnl_format_tag_any);
        }
        status = dnnl->dnnl_dilated_convolution_backward_weights_desc_init(
            &desc, dnnl_convolution_direct, &src_md, &weights_md, &bias_md,
            &dst_md, ones, dilates, zeros, zeros);
        if (status == dnnl_success)
            status = dnnl->dnnl_primitive_desc_create(pd, &desc, attr, engine, hint);
        if (status == dnnl_success && attempt == 0 && is_reference(*pd)) {
            dnnl->dnnl_primitive_desc_destroy(*pd);
            status = dnnl_unimplemented;
        }
        if (status == dnnl_success)
            break;
    }
    dnnl->dnnl_primitive_attr_destroy(attr);
    return status;
}


/* Creates the backward-data descriptor of a convolution: weights and
 * diff_dst in `type`, diff_src in the data type and layout of diff_src when
 * oneDNN has a fast kernel for it, else in a layout oneDNN picks. */
static dnnl_status_t conv_data_pd(dnnl_primitive_desc_t *pd,
                                  const dnnl_memory_desc_t *diff_src,
                                  const dnnl_dims_t weights, const dnnl_dims_t dst,
                                  const dnnl_dims_t dilates,
                                  dnnl_data_type_t type,
                                  const_dnnl_primitive_desc_t hint)
{
    static const dnnl_dims_t ones = {1}, zeros = {0};
    dnnl_memory_desc_t src_md, weights_md, dst_md;
    dnnl_convolution_desc_t desc;
    dnnl_primitive_attr_t attr = scratch_attr();
    dnnl_status_t status = dnnl_out_of_memory;

    init_md(&weights_md, 3, weights, type, dnnl_format_tag_any);
    init_md(&dst_md, 3, dst, type, dnnl_format_tag_any);
    for (int attempt = 0; attempt < 2 && attr != NULL; attempt++) {
        src_md = *diff_src;
        if (attempt == 1)
            init_md(&src_md, 3, diff_src->dims, diff_src->data_type,
                    dnnl_format_tag_any);
        status = dnnl->dnnl_dilated_convolution_backward_data_desc_init(
            &desc, dnnl_convolution_direct, &src_md, &weights_md, &dst_md,
            ones, dilates, zeros, zeros);
        if (status == dnnl_success)
            status = dnnl->dnnl_primitive_desc_create(pd, &desc, attr, engine, hint);
        if (status == dnnl_success && attempt == 0 && is_reference(*pd)) {
            dnnl->dnnl_primitive_desc_destroy(*pd);
            status = dnnl_unimplemented;
        }
        if (status == dnnl_success)
            break;
    }
    dnnl->dnnl_primitive_attr_destroy(attr);
    return status;
}


/* Stores in *out `candidate` when it already has the layout `want`, else a
 * memory with that layout filled from `have` by a reorder added to list. */
static int reuse_or_adopt(plan *p, step_list *list,
                          const dnnl_memory_desc_t *want,
                          dnnl_memory_t candidate, dnnl_memory_t have,
                          dnnl_memory_t *out)
{
    const dnnl_memory_desc_t *candidate_md;

    dnnl->dnnl_memory_get_memory_desc(candidate, &candidate_md);
    if (dnnl->dnnl_memory_desc_equal(want, candidate_md)) {
        *out = candidate;
        return OHLCX_OK;
    }
    return adopt_input(p, list, want, have, out);
}


/* Adds the forward steps: reorders of x and the weights where needed,
 * conv1 into p->act1, a reorder of act1 where needed, conv2, and a reorder
 * into ws->last_out where needed. */
static int build_forward(plan *p, const_dnnl_primitive_desc_t fwd1,
                         const_dnnl_primitive_desc_t fwd2)
{
    step_list *list = &p->forward;
    dnnl_memory_t act2, pending;
    plan_step *step;
    int rc;

    rc = adopt_input(p, list, query(fwd1, dnnl_query_src_md), p->x, &p->x_in);
    if (rc != OHLCX_OK)
        return rc;
    rc = adopt_input(p, list, query(fwd1, dnnl_query_weights_md), p->w1,
                     &p->w1_in);
    if (rc != OHLCX_OK)
        return rc;
    rc = new_memory(p, query(fwd1, dnnl_query_dst_md), DNNL_MEMORY_ALLOCATE,
                    &p->act1);
    if (rc != OHLCX_OK)
        return rc;
    rc = add_primitive(p, list, fwd1, &step);
    if (rc != OHLCX_OK)
        return rc;
    add_arg(step, DNNL_ARG_SRC, p->x_in);
    add_arg(step, DNNL_ARG_WEIGHTS, p->w1_in);
    add_arg(step, DNNL_ARG_BIAS, p->b1);
    add_arg(step, DNNL_ARG_DST, p->act1);

    rc = adopt_input(p, list, query(fwd2, dnnl_query_src_md), p->act1,
                     &p->act1_in);
    if (rc != OHLCX_OK)
        return rc;
    rc = adopt_input(p, list, query(fwd2, dnnl_query_weights_md), p->w2,
                     &p->w2_in);
    if (rc != OHLCX_OK)
        return rc;
    rc = adopt_output(p, query(fwd2, dnnl_query_dst_md), p->act2, &act2,
                      &pending);
    if (rc != OHLCX_OK)
        return rc;
    rc = add_primitive(p, list, fwd2, &step);
    if (rc != OHLCX_OK)
        return rc;
    add_arg(step, DNNL_ARG_SRC, p->act1_in);
    add_arg(step, DNNL_ARG_WEIGHTS, p->w2_in);
    add_arg(step, DNNL_ARG_BIAS, p->b2);
    add_arg(step, DNNL_ARG_DST, act2);
    return finish_output(p, list, act2, pending);
}


/* Adds a step computing a convolution's weight and bias gradients from its
 * input src and output gradient d_dst into gradient and bias, through a
 * temporary in oneDNN's layout when gradient is not in it. */
static int add_weight_gradient(plan *p, step_list *list, const_dnnl_primitive_desc_t weights_pd,
                               dnnl_memory_t src, dnnl_memory_t d_dst, dnnl_memory_t gradient,
                               dnnl_memory_t bias)
{
    dnnl_memory_t produced, pending;
    plan_step *step;
    int rc = adopt_output(p, query(weights_pd, dnnl_query_diff_weights_md), gradient,
                          &produced, &pending);

    if (rc != OHLCX_OK)
        return rc;
    rc = add_primitive(p, list, weights_pd, &step);
    if (rc != OHLCX_OK)
        return rc;
    add_arg(step, DNNL_ARG_SRC, src);
    add_arg(step, DNNL_ARG_DIFF_DST, d_dst);
    add_arg(step, DNNL_ARG_DIFF_WEIGHTS, produced);
    add_arg(step, DNNL_ARG_DIFF_BIAS, bias);
    return finish_output(p, list, produced, pending);
}


/* Adds the conv2 backward steps: weight and bias gradients from act1 and
 * the gradient in ws->last_out, then the gradient of act1 into p->d_act1. */
static int build_backward_conv2(plan *p, const_dnnl_primitive_desc_t weights_pd,
                                const_dnnl_primitive_desc_t data_pd)
{
    step_list *list = &p->backward_conv2;
    dnnl_memory_t src, d_act2, d_act2_data, w2, d_act1, pending;
    plan_step *step;
    int rc;

    rc = reuse_or_adopt(p, list, query(weights_pd, dnnl_query_src_md),
                        p->act1_in, p->act1, &src);
    if (rc != OHLCX_OK)
        return rc;
    rc = adopt_input(p, list, query(weights_pd, dnnl_query_diff_dst_md),
                     p->act2, &d_act2);
    if (rc != OHLCX_OK)
        return rc;
    rc = add_weight_gradient(p, list, weights_pd, src, d_act2, p->g_w2, p->g_b2);
    if (rc != OHLCX_OK)
        return rc;

    rc = reuse_or_adopt(p, list, query(data_pd, dnnl_query_diff_dst_md),
                        d_act2, p->act2, &d_act2_data);
    if (rc != OHLCX_OK)
        return rc;
    rc = reuse_or_adopt(p, list, query(data_pd, dnnl_query_weights_md),
                        p->w2_in, p->w2, &w2);
    if (rc != OHLCX_OK)
        return rc;
    rc = adopt_output(p, query(data_pd, dnnl_query_diff_src_md), p->d_act1,
                      &d_act1, &pending);
    if (rc != OHLCX_OK)
        return rc;
    rc = add_primitive(p, list, data_pd, &step);
    if (rc != OHLCX_OK)
        return rc;
    add_arg(step, DNNL_ARG_DIFF_DST, d_act2_data);
    add_arg(step, DNNL_ARG_WEIGHTS, w2);
    add_arg(step, DNNL_ARG_DIFF_SRC, d_act1);
    return finish_output(p, list, d_act1, pending);
}


/* Returns 1 when d_act1 is float32 nCw16c without padding and conv1's
 * weight gradient wants it as nCw8c (oneDNN 2.6 runs that kernel with AVX2
 * in float32), so that relayout_to_8c() can replace oneDNN's reorder. */
static int masks_into_8c(const plan *p, const dnnl_memory_desc_t *want)
{
    const dnnl_memory_desc_t *have;
    dnnl_memory_desc_t blocked16, blocked8;

    dnnl->dnnl_memory_get_memory_desc(p->d_act1, &have);
    if (have->data_type != dnnl_f32 || have->dims[1] % 16 != 0)
        return 0;
    init_md(&blocked16, 3, have->dims, dnnl_f32, dnnl_nCw16c);
    init_md(&blocked8, 3, have->dims, dnnl_f32, dnnl_nCw8c);
    return dnnl->dnnl_memory_desc_equal(have, &blocked16) &&
           dnnl->dnnl_memory_desc_equal(want, &blocked8);
}


/* Adds the conv1 backward steps: weight and bias gradients from x and
 * p->d_act1. conv1's input needs no gradient. */
static int build_backward_conv1(plan *p, const_dnnl_primitive_desc_t weights_pd)
{
    step_list *list = &p->backward_conv1;
    dnnl_memory_t src, d_act1;
    int rc;

    rc = reuse_or_adopt(p, list, query(weights_pd, dnnl_query_src_md),
                        p->x_in, p->x, &src);
    if (rc != OHLCX_OK)
        return rc;
    if (masks_into_8c(p, query(weights_pd, dnnl_query_diff_dst_md))) {
        void *handle;

        rc = new_memory(p, query(weights_pd, dnnl_query_diff_dst_md),
                        DNNL_MEMORY_ALLOCATE, &d_act1);
        if (rc != OHLCX_OK)
            return rc;
        dnnl->dnnl_memory_get_data_handle(d_act1, &handle);
        p->d_act1_8c = handle;
    } else {
        rc = adopt_input(p, list, query(weights_pd, dnnl_query_diff_dst_md),
                         p->d_act1, &d_act1);
        if (rc != OHLCX_OK)
            return rc;
    }
    return add_weight_gradient(p, list, weights_pd, src, d_act1, p->g_w1, p->g_b1);
}


static void free_plan(plan *p)
{
    for (int i = 0; i < p->primitive_count; i++)
        dnnl->dnnl_primitive_destroy(p->primitives[i]);
    for (int i = 0; i < p->memory_count; i++)
        dnnl->dnnl_memory_destroy(p->memories[i]);
    free(p->scratch_buffer);
    memset(p, 0, sizeof *p);
}


/* Points every scratchpad memory at one buffer as large as the largest. */
static int share_scratchpad(plan *p)
{
    size_t bytes = (p->scratch_bytes + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN *
                   SCRATCH_ALIGN;

    if (bytes == 0)
        return OHLCX_OK;
    p->scratch_buffer = aligned_alloc(SCRATCH_ALIGN, bytes);
    if (p->scratch_buffer == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for a "
                               "%zu-byte oneDNN scratchpad for %zu samples: "
                               "lower batch_size", bytes, p->n);
    for (int i = 0; i < p->scratch_count; i++)
        CHECK(dnnl->dnnl_memory_set_data_handle(p->scratch[i], p->scratch_buffer),
              "set a scratchpad");
    return OHLCX_OK;
}


/* Creates the backward descriptors and adds both backward step lists. */
static int build_backward(plan *p, const conv_shapes *s, dnnl_data_type_t type,
                          const_dnnl_primitive_desc_t fwd1,
                          const_dnnl_primitive_desc_t fwd2)
{
    dnnl_primitive_desc_t weights2 = NULL, data2 = NULL, weights1 = NULL;
    const dnnl_memory_desc_t *act1_md = query(fwd1, dnnl_query_dst_md);
    void *handle;
    int rc;

    rc = new_memory(p, act1_md, DNNL_MEMORY_ALLOCATE, &p->d_act1);
    if (rc != OHLCX_OK)
        return rc;
    dnnl->dnnl_memory_get_data_handle(p->d_act1, &handle);
    p->d_act1_data = handle;

    rc = OHLCX_OK;
    if (conv_weights_pd(&weights2, query(fwd2, dnnl_query_src_md), s->w2,
                        s->b2, query(fwd2, dnnl_query_dst_md), s->dilate2, type,
                        fwd2) != dnnl_success)
        rc = fail(dnnl_unimplemented, "create the conv2 weight gradient kernel",
                  p->n);
    if (rc == OHLCX_OK &&
        conv_data_pd(&data2, act1_md, s->w2, s->act2, s->dilate2, type, fwd2) !=
            dnnl_success)
        rc = fail(dnnl_unimplemented, "create the conv2 data gradient kernel",
                  p->n);
    if (rc == OHLCX_OK &&
        conv_weights_pd(&weights1, query(fwd1, dnnl_query_src_md), s->w1,
                        s->b1, act1_md, s->dilate1, type, fwd1) != dnnl_success)
        rc = fail(dnnl_unimplemented, "create the conv1 weight gradient kernel",
                  p->n);
    if (rc == OHLCX_OK)
        rc = build_backward_conv2(p, weights2, data2);
    if (rc == OHLCX_OK)
        rc = build_backward_conv1(p, weights1);

    dnnl->dnnl_primitive_desc_destroy(weights2);
    dnnl->dnnl_primitive_desc_destroy(data2);
    dnnl->dnnl_primitive_desc_destroy(weights1);
    return rc;
}


/* Wraps ws->last_out in the layout conv2 writes when that is nCw16c or nCw8c
 * without padding, so the readout reads it in place, and as nwc
 * otherwise, with reorders. */
static int create_act2_memory(plan *p, const conv_shapes *s,
                              const_dnnl_primitive_desc_t fwd2)
{
    static const struct {
        dnnl_format_tag_t tag;
        size_t block;
    } blocked[] = {{dnnl_nCw16c, 16}, {dnnl_nCw8c, 8}};
    const dnnl_memory_desc_t *dst_md = query(fwd2, dnnl_query_dst_md);
    dnnl_memory_desc_t md;

    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++) {
        if (s->act2[1] % (dnnl_dim_t)blocked[i].block != 0)
            continue;
        init_md(&md, 3, s->act2, dnnl_f32, blocked[i].tag);
        if (dnnl->dnnl_memory_desc_equal(&md, dst_md)) {
            p->act2_block = blocked[i].block;
            return new_memory(p, &md, DNNL_MEMORY_NONE, &p->act2);
        }
    }
    p->act2_block = 0;
    return user_memory(p, 3, s->act2, dnnl_nwc, &p->act2);
}


/* Builds every primitive and buffer for batches of n samples. */
static int build_plan(nn_dnnl *d, const ohlcx_cnn *cnn, size_t n, plan *p)
{
    dnnl_data_type_t type = d->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_primitive_desc_t fwd1 = NULL, fwd2 = NULL;
    conv_shapes s;
    void *handle;
    int rc;

    memset(p, 0, sizeof *p);
    p->n = n;
    describe_shapes(cnn, n, &s);
    rc = create_user_memories(p, &s, d->backward);
    if (rc != OHLCX_OK)
        goto done;

    /* conv1's output feeds only conv2 and the ReLU mask, so in bf16 mode
     * it is written in bf16, which conv2 reads without a reorder. */
    if (conv_forward_pd(&fwd1, s.x, s.w1, s.b1, s.act1, s.dilate1, type, type) !=
            dnnl_success ||
        conv_forward_pd(&fwd2, s.act1, s.w2, s.b2, s.act2, s.dilate2, type,
                        dnnl_f32) !=
            dnnl_success) {
        rc = fail(dnnl_unimplemented, "create the forward convolution kernels",
                  n);
        goto done;
    }
    rc = create_act2_memory(p, &s, fwd2);
    if (rc != OHLCX_OK)
        goto done;
    rc = build_forward(p, fwd1, fwd2);
    if (rc != OHLCX_OK)
        goto done;
    p->act1_bf16 = type == dnnl_bf16;
    p->act1_count = dnnl->dnnl_memory_desc_get_size(query(fwd1, dnnl_query_dst_md)) /
                    (p->act1_bf16 ? sizeof(uint16_t) : sizeof(float));
    dnnl->dnnl_memory_get_data_handle(p->act1, &handle);
    p->act1_data = handle;

    if (d->backward)
        rc = build_backward(p, &s, type, fwd1, fwd2);
    if (rc == OHLCX_OK)
        rc = share_scratchpad(p);

done:
    dnnl->dnnl_primitive_desc_destroy(fwd1);
    dnnl->dnnl_primitive_desc_destroy(fwd2);
    if (rc != OHLCX_OK)
        free_plan(p);
    return rc;
}


/* Returns the plan for n samples at the current OpenBLAS thread count,
 * building it in a free slot or in place of the least recently used one.
 * oneDNN splits the work of a kernel between the OpenMP threads in force
 * when the kernel is created, so the thread count is set first and is part
 * of the plan's key. */
static int find_plan(nn_dnnl *d, const ohlcx_cnn *cnn, size_t n, plan **out)
{
    int threads = openblas_get_num_threads();
    plan *oldest = &d->plans[0];
    int rc;

    dnnl->omp_set_num_threads(threads);
    d->calls++;
    for (int i = 0; i < PLAN_SLOTS; i++) {
        plan *p = &d->plans[i];

        if (p->n == n && p->threads == threads) {
            p->last_use = d->calls;
            *out = p;
            return OHLCX_OK;
        }
        if (p->last_use < oldest->last_use)
            oldest = p;
    }

    if (oldest->n != 0)
        free_plan(oldest);
    rc = build_plan(d, cnn, n, oldest);
    if (rc != OHLCX_OK)
        return rc;
    oldest->threads = threads;
    oldest->last_use = d->calls;
    *out = oldest;
    return OHLCX_OK;
}


static int run_steps(nn_dnnl *d, const plan *p, const step_list *list)
{
    for (int i = 0; i < list->count; i++) {
        const plan_step *step = &list->steps[i];

        CHECK(dnnl->dnnl_primitive_execute(step->primitive, d->stream,
                                           step->arg_count, step->args),
              "run a convolution");
    }
    CHECK(dnnl->dnnl_stream_wait(d->stream), "wait for the convolutions");
    return OHLCX_OK;
}


int nn_dnnl_create(nn_dnnl **out, int bf16, int backward)
{
    nn_dnnl *d;

    *out = NULL;
    if (ohlcx_dnnl_load() != OHLCX_OK)
        return OHLCX_ELIB;
    pthread_once(&engine_once, create_engine);
    if (engine_status != dnnl_success)
        return ohlcx_set_error(OHLCX_ELIB, "cnn: oneDNN failed to create "
                               "a CPU engine (dnnl_status %d)",
                               (int)engine_status);
    if (bf16 && !nn_dnnl_bf16_supported())
        return ohlcx_set_error(OHLCX_EINVAL, "cnn: bf16 precision needs a CPU "
                               "with AVX512_BF16: use fp32");

    d = calloc(1, sizeof *d);
    if (d == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for the "
                               "oneDNN plans");
    d->bf16 = bf16;
    d->backward = backward;
    if (dnnl->dnnl_stream_create(&d->stream, engine, dnnl_stream_default_flags) !=
        dnnl_success) {
        free(d);
        return ohlcx_set_error(OHLCX_ELIB, "cnn: oneDNN failed to create "
                               "a stream");
    }
    *out = d;
    return OHLCX_OK;
}


void nn_dnnl_free(nn_dnnl *d)
{
    if (d == NULL)
        return;
    for (int i = 0; i < PLAN_SLOTS; i++)
        if (d->plans[i].n != 0)
            free_plan(&d->plans[i]);
    dnnl->dnnl_stream_destroy(d->stream);
    free(d);
}


/* Runs both convolutions with bias and ReLU on n samples of x, leaving the
 * output of conv2 in ws->last_out. x must stay unchanged until the
 * nn_dnnl_backward() call that follows, which reads it again. */
int nn_dnnl_forward(nn_dnnl *d, const ohlcx_cnn *cnn, nn_workspace *ws,
                    const float *x, size_t n)
{
    const nn_stage *st = cnn->stage;
    plan *p;
    int rc = find_plan(d, cnn, n, &p);

    if (rc != OHLCX_OK)
        return rc;
    dnnl->dnnl_memory_set_data_handle(p->x, (void *)x);
    dnnl->dnnl_memory_set_data_handle(p->w1, (void *)nn_block(cnn, st[0].weight));
    dnnl->dnnl_memory_set_data_handle(p->b1, (void *)nn_block(cnn, st[0].bias));
    dnnl->dnnl_memory_set_data_handle(p->w2, (void *)nn_block(cnn, st[1].weight));
    dnnl->dnnl_memory_set_data_handle(p->b2, (void *)nn_block(cnn, st[1].bias));
    dnnl->dnnl_memory_set_data_handle(p->act2, ws->last_out);
    ws->act2_block = p->act2_block;
    return run_steps(d, p, &p->forward);
}


/* nn_relu_mask() on bfloat16 bit patterns: a value is above zero when its
 * sign bit is clear and some other bit is set. Unlike in nn_relu_mask(), a NaN
 * passes, but it has made the loss non-finite, which stops training. */
static void relu_mask_bf16(uint16_t *restrict grad,
                           const uint16_t *restrict act, size_t n)
{
    for (size_t i = 0; i < n; i++)
        grad[i] = act[i] != 0 && act[i] < 0x8000u ? grad[i] : 0;
}


/* Copies grad from nCw16c to nCw8c (out), a reorder that costs less here
 * than oneDNN's: each 8-channel half row is one 32-byte copy. channels is
 * a multiple of 16. */
static void relayout_to_8c(float *restrict out, const float *restrict grad,
                           size_t n, size_t channels, size_t length)
{
    for (size_t s = 0; s < n; s++) {
        for (size_t b = 0; b < channels / 8; b++) {
            const float *from = grad + s * channels * length +
                                (b / 2) * length * 16 + (b % 2) * 8;
            float *to = out + s * channels * length + b * length * 8;

            for (size_t t = 0; t < length; t++)
                memcpy(to + t * 8, from + t * 16, 8 * sizeof *to);
        }
    }
}


/* Stores in cnn->grads the gradients of both convolutions' weights and
 * biases, given in ws->last_out the gradient with respect to conv2's output
 * before its ReLU, for the n samples of the last nn_dnnl_forward() call. */
int nn_dnnl_backward(nn_dnnl *d, ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    const nn_stage *st = cnn->stage;
    plan *p;
    int rc = find_plan(d, cnn, n, &p);

    if (rc != OHLCX_OK)
        return rc;
    if (!d->backward)
        return ohlcx_set_error(OHLCX_ELIB, "cnn: backward pass on a "
                               "forward-only workspace");
    dnnl->dnnl_memory_set_data_handle(p->act2, ws->last_out);
    dnnl->dnnl_memory_set_data_handle(p->g_w1, nn_grad_block(cnn, st[0].weight));
    dnnl->dnnl_memory_set_data_handle(p->g_b1, nn_grad_block(cnn, st[0].bias));
    dnnl->dnnl_memory_set_data_handle(p->g_w2, nn_grad_block(cnn, st[1].weight));
    dnnl->dnnl_memory_set_data_handle(p->g_b2, nn_grad_block(cnn, st[1].bias));

    rc = run_steps(d, p, &p->backward_conv2);
    if (rc != OHLCX_OK)
        return rc;

    /* Padding in a blocked layout is zero in act, so it stays zero in the
     * gradient. */
    if (p->act1_bf16)
        relu_mask_bf16(p->d_act1_data, p->act1_data, p->act1_count);
    else
        nn_relu_mask(p->d_act1_data, p->act1_data, p->act1_count);
    if (p->d_act1_8c != NULL)
        relayout_to_8c(p->d_act1_8c, p->d_act1_data, n,
                       (size_t)cnn->stage[0].filters, cnn->stage[0].length);
    return run_steps(d, p, &p->backward_conv1);
}

#endif
